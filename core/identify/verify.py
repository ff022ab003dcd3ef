"""Second look at a weak play: do the track's single peaks line up in the mix?

A candidate line (track, speed, offset) that too few triplets support to tell
from chance is checked on the peaks themselves: every reference peak of the
track inside the candidate's span is mapped into the mix along the line (and
shifted in pitch on a vinyl play) and counts as a hit when the mix has a peak
within ``TIME_TOL`` frames and ``BIN_TOL`` log bins. A peak survives the club
far more often than a triplet does (peak_store.py), so a true weak play has
tens to hundreds of hits where it has a handful of triplets.

Chance is measured, not modelled: the same count along the same line moved by
a few seconds either way (``SHIFTS_S``), on the same mix peaks and the same
reference peaks. Music repeats, so a line a bar or two away also finds hits;
those land in the background too, which keeps the test honest on loops. The
evidence is ``(hits - mean) / sd`` with ``sd`` at least the Poisson one.

Written by hand: this is a counting step over two sorted peak lists, which no
fingerprinting library exposes on its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from core.identify import fingerprint as fp

TIME_TOL = 1.5  # frames
BIN_TOL = 1.0  # log bins
# Background lines: the candidate's moved by these many seconds of reference;
# the first TRIAGE_SHIFTS of them decide whether the rest are worth counting.
SHIFTS_S = (-7.9, 5.3, 11.7, -17.3, -11.7, -5.3, 7.9, 17.3)
TRIAGE_SHIFTS = 3
BACKGROUND_LINES = 4  # for a rate of chance hits (``hit_times``)
TRIAGE_EVIDENCE = 3.0
# A line fitted to a few triplets among a track's chance matches can have the
# wrong speed (measured: off by 0.013-0.03 on three of the club misses) while
# passing through the right place; speeds within SLOPE_SEARCH of it, turning
# about the fit's inliers, are counted too (background lines alike).
SLOPE_SEARCH = 0.035
SLOPE_STEP = 0.002
CACHE_TRACKS = 8  # find_plays asks about one track at a time

RefPeaks = tuple[np.ndarray, np.ndarray]


class PeakVerifier:
    """Counts a candidate line's peak hits against the mix's peaks.

    ``ref_peaks(track_code)`` gives a track's ``(frames, log bins)`` or None when
    the library has none stored (then the candidate gets no second look).
    """

    def __init__(
        self,
        mix_t: np.ndarray,
        mix_f: np.ndarray,
        ref_peaks: Callable[[int], RefPeaks | None],
        has_peaks: Callable[[int], bool] | None = None,
    ) -> None:
        order = np.argsort(mix_t, kind="stable")
        self.mix_t = mix_t[order].astype(np.float64)
        self.mix_f = mix_f[order].astype(np.float32)
        self._ref_peaks = ref_peaks
        self._has_peaks = has_peaks
        self._cache: OrderedDict[int, RefPeaks | None] = OrderedDict()

    def knows(self, code: int) -> bool:
        """Whether the track's peaks are stored."""
        if self._has_peaks is not None:
            return self._has_peaks(code)
        return self._ref(code) is not None

    def _ref(self, code: int) -> RefPeaks | None:
        if code in self._cache:
            self._cache.move_to_end(code)
            return self._cache[code]
        got = self._ref_peaks(code)
        self._cache[code] = got
        if len(self._cache) > CACHE_TRACKS:
            self._cache.popitem(last=False)
        return got

    def _close(self, qt: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mix peak index, is close)`` tables, a row per mapped peak ``(qt, f)``."""
        lo = np.searchsorted(self.mix_t, qt - TIME_TOL)
        hi = np.searchsorted(self.mix_t, qt + TIME_TOL, side="right")
        width = int((hi - lo).max()) if len(qt) else 0
        # A few mix peaks at most lie within ±TIME_TOL: test them side by side.
        idx = lo[:, None] + np.arange(width)[None, :]
        inside = idx < hi[:, None]
        idx = np.minimum(idx, max(len(self.mix_t) - 1, 0))
        close = inside & (np.abs(self.mix_f[idx] - f[:, None]) <= BIN_TOL)
        return idx, close

    def _close_either_pitch(
        self, qt: np.ndarray, f: np.ndarray, slope: float
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``_close`` of the peaks ``(qt, f)`` mapped along a line of speed ``slope``,
        their pitch kept (keylock) and moved with the speed (vinyl)."""
        shifts = {0.0, fp.BINS_PER_OCTAVE * float(np.log2(slope))}
        return [self._close(qt, f + shift) for shift in shifts]

    def _hits_turning(
        self, qt: np.ndarray, f: np.ndarray, qc: float, slope: float
    ) -> tuple[int, float]:
        """Most hits of the peaks ``(qt, f)``, mapped along a line of speed ``slope``,
        over that line turned about mix frame ``qc`` through speeds within
        SLOPE_SEARCH (one pair per reference peak and mix peak close by), and the
        hits one such line would get if the mix peaks near each reference peak
        fell at random within the times the turning lines sweep."""
        if len(qt) == 0 or len(self.mix_t) == 0:
            return 0, 0.0
        slopes = np.arange(slope - SLOPE_SEARCH, slope + SLOPE_SEARCH + 1e-9, SLOPE_STEP)
        slopes = slopes[slopes > 0.5]
        d = slope * (qt - qc)  # reference frames from the pivot
        a, b = qc + d / slopes[0], qc + d / slopes[-1]
        lo = np.searchsorted(self.mix_t, np.minimum(a, b) - TIME_TOL)
        hi = np.searchsorted(self.mix_t, np.maximum(a, b) + TIME_TOL, side="right")
        width = int((hi - lo).max())
        if width == 0:
            return 0, 0.0
        idx = lo[:, None] + np.arange(width)[None, :]
        inside = idx < hi[:, None]
        idx = np.minimum(idx, len(self.mix_t) - 1)
        rows, cols = np.nonzero(inside & (np.abs(self.mix_f[idx] - f[:, None]) <= BIN_TOL))
        if len(rows) == 0:
            return 0, 0.0
        tj = self.mix_t[idx[rows, cols]]
        pred = qc + d[rows, None] / slopes[None, :]
        best = int((np.abs(tj[:, None] - pred) <= TIME_TOL).sum(axis=0).max())
        sweep = np.abs(a - b)[rows] + 2 * TIME_TOL
        return best, float(np.sum(np.minimum(2 * TIME_TOL / sweep, 1.0)))

    def _mapped(
        self, ref: RefPeaks, slope: float, icpt: float, lo: int, hi: int
    ) -> tuple[np.ndarray, np.ndarray]:
        rt, rf = ref
        qt = (rt - icpt) / slope
        keep = (qt >= lo) & (qt < hi)
        return qt[keep], rf[keep]

    def heard(self, code: int, slope: float, icpt: float, lo: int, hi: int) -> np.ndarray:
        """Indexes of the mix peaks the line explains over ``[lo, hi)`` (either pitch
        mode); empty without stored peaks."""
        ref = self._ref(code)
        if ref is None or slope <= 0 or len(self.mix_t) == 0:
            return np.zeros(0, np.int64)
        qt, f = self._mapped(ref, slope, icpt, lo, hi)
        if len(qt) == 0:
            return np.zeros(0, np.int64)
        got = [idx[close] for idx, close in self._close_either_pitch(qt, f, slope)]
        return np.unique(np.concatenate(got))

    def hit_times(
        self, code: int, slope: float, icpt: float, lo: int, hi: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Mix frames of the reference peaks heard along the line over ``[lo, hi)``
        (either pitch mode), and the same along the line moved by each of the first
        ``BACKGROUND_LINES`` of SHIFTS_S (chance); empty without stored peaks."""
        ref = self._ref(code)
        if ref is None or slope <= 0 or len(self.mix_t) == 0:
            return np.zeros(0), []

        def heard_at(d: float) -> np.ndarray:
            qt, f = self._mapped(ref, slope, icpt + d / fp.FRAME_S, lo, hi)
            hit = np.zeros(len(qt), dtype=bool)
            for _, close in self._close_either_pitch(qt, f, slope):
                hit |= close.any(axis=1)
            return np.sort(qt[hit])

        return heard_at(0.0), [heard_at(d) for d in SHIFTS_S[:BACKGROUND_LINES]]

    def evidence(
        self, code: int, slope: float, icpt: float, lo: int, hi: int, pivot: float | None = None
    ) -> float:
        """Standard deviations by which the line ``rt = slope * qt + icpt`` (frames)
        beats the same line moved, over mix frames ``[lo, hi)``; 0.0 without peaks.
        Other speeds turn the line about mix frame ``pivot`` (default: the middle)."""
        ref = self._ref(code)
        if ref is None or slope <= 0:
            return 0.0
        qc = (lo + hi) / 2 if pivot is None else pivot
        best = 0.0
        vinyl = fp.BINS_PER_OCTAVE * float(np.log2(slope))
        # Keylock keeps the pitch; vinyl shifts it with the speed (the same
        # within half a bin).
        for shift in (0.0, vinyl) if abs(vinyl) >= 0.5 else (0.0,):

            def count(d: float, shift: float = shift) -> tuple[int, float]:
                """Hits of the line moved by ``d`` seconds, and what chance would give."""
                qt, f = self._mapped(ref, slope, icpt + d / fp.FRAME_S, lo, hi)
                return self._hits_turning(qt, f + shift, qc, slope)

            hit, chance = count(0.0)
            # Most candidates are chance: when the line's hits are not even above
            # what random mix peaks would give it, no background is worth counting.
            if (hit - chance) / np.sqrt(chance + 1.0) < TRIAGE_EVIDENCE:
                continue
            bg = [count(d)[0] for d in SHIFTS_S[:TRIAGE_SHIFTS]]
            if _z(hit, bg) >= TRIAGE_EVIDENCE:
                bg += [count(d)[0] for d in SHIFTS_S[TRIAGE_SHIFTS:]]
            best = max(best, _z(hit, bg))
        return best


def _z(hit: int, background: list[int]) -> float:
    bg = np.asarray(background, dtype=np.float64)
    mean = float(bg.mean())
    return (hit - mean) / float(np.sqrt(max(float(bg.var()), mean) + 1.0))
