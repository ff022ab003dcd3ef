"""Speed-invariant audio fingerprints: triplets of spectral peaks with ratio hashes.

Design choice (Panako-style triplets, not Olaf/Shazam pairs)
------------------------------------------------------------
Olaf and Shazam-style fingerprints hash *pairs* of peaks as (f1, f2, t2 - t1).
Playing a record 8 % fast scales every time difference by 1/1.08 and every
frequency by 1.08, so almost every pair hash changes: they stop matching at about
±2 %. Panako (Six & Leman, "Panako: a scalable acoustic fingerprinting system
handling time-scale and pitch modification", ISMIR 2014) hashes *triplets* of
peaks with quantities that do not change under either transformation:

* the time ratio ``(t2 - t1) / (t3 - t1)`` is unchanged when time is scaled,
  whether by resampling ("vinyl") or by a pitch-keeping stretch ("keylock");
* frequency differences on a *logarithmic* frequency axis, ``f2 - f1`` and
  ``f3 - f1``, are unchanged when every frequency is multiplied by the same
  factor (vinyl) and trivially unchanged when it is not (keylock).

Two non-invariant features add the bits a 1000-hour library needs: the
anchor's frequency band and ``t3 - t1`` in whole frames. The query probes every
bin those can move into under a ±8 % speed change (``query_ranges``), so they
cost lookups, not recall. ``t3 - t1`` is the key's lowest digit, so all the
values a ±8 % change allows are one contiguous key range: one range read per
combination of the other features' bins (~11 a triplet) replaces a point probe
per (combination, log-spaced ``t3 - t1`` class) (~28), every hit already has a
plausible speed, and the range is exactly what ``matching`` gates on (the
coarse classes missed hits at the gate's edges). With ~23 M keys the index can
address big segments by a dense offset table instead of sorted keys
(``index.py``). The reference side stores few triplets per anchor and
the query side forms more (asymmetric fan-out): a reference triplet is still
formed by the query when a crossfade or noise inserts extra peaks between its
points.

The query probes *every* bin a feature's tolerance reaches (not at most two):
a short ``t3 - t1`` under an 8 % speed change can span three ``dt`` classes,
and dropping the third lost hashes of exactly the plays sped up the most
(the 5.8–6.8 % misses under club conditions).

Room reverberation is what costs most under club conditions: with a
direct-to-reverberant ratio of 0 dB only ~40 % of a track's peaks survive
(measured), so ~10 % of its triplets. Picking peaks on an onset spectrogram
(log power minus a decaying hold of the past) raised that to ~60 % / 17 %,
but made peaks less stable under speed changes and lost end to end (recall
0.86 vs 0.90 on the club benchmark), so peaks stay on the plain log
spectrogram; the matcher instead accepts plays by significance against each
track's own chance matches (``matching.py``), which weak reverberant plays pass.

Measured against 12.7 hours of real music (Debian game soundtracks, Tuxemon,
``../shared/audio``; ``benchmarks/identify_music_folder.py --debian``), the
misses that are left are plays whose fingerprints barely survive (0-18
inliers in a 25-30 s double drop or sweep; a floor of 16 inliers at the usual
significance doubled the wrong reports, so plays with 12-19 inliers need twice
the significance), and the wrong reports were
the same music in two files (a theme and its reprise, a song and its B mix),
which the matcher now recognises by their sharing query triplets. Starts come
late on filter-sweep transitions (the low-pass hides the incoming track for
the first third of the fade: no matches there at any distance from the line);
the matcher reaches back over sparse early inliers where chance inliers are
rare, and then puts the start where the inliers' rate begins to rise
(``matching._start_at_ramp``).

Why vinyl plays are missed more than keylock ones, measured with
``benchmarks/identify_hash_survival.py`` (the share of a track's library
triplets that a sped-up copy's query ranges still hit at the right time): not
the frequency features. Under a ±8 % pitch shift a peak's log-bin moves by
under 0.15 bins (90th percentile) above ~220 Hz and by up to ~0.6 bins at
110-150 Hz, where one FFT bin spans several log bins; widening ``DF_JITTER`` to
0.75 and ``R_JITTER_FRAMES`` to 1.5 raised survival by under one point for
40-90 % more lookups. What is lost is peaks: at +8 % speed ~20 % of a track's
peaks are no longer maxima of their ±10-frame neighbourhood (4 % at the same
speed), so triplets survive at 0.47 instead of 0.79; fast keylock loses the
same way (time is compressed too). Nor is it ``matching``'s pitch gate: it
passes 98-99 % of true vinyl hits at 0.95-1.08. The per-play counts of true
matches are alike for the two modes (~73 a play at 3-8 % faster, 12.7 hours);
the plays under 20 matches (the misses) were 6 vinyl, 1 keylock, which with
47 vs 64 plays may be partly chance. Tried, and left out:

* picking a mix's peaks over ±9 frames (10 / 1.08): survival 0.55 at +8 %,
  matches on the true line +9 % (+12 % on fast vinyl) against 12.7 hours, but
  no miss crossed the acceptance line (the misses have under 20 matches to
  begin with), recall 0.910 vs 0.919, and it cost 38 % more CPU in lookup and
  matching (gated matches +21 %) and 14 % more peak memory;
* analysing the mix on a wider band (4 bins under ``F_MIN``, where slow vinyl
  moves a track's lowest bins): matches only for slow vinyl under a low-pass,
  fewer elsewhere;
* an index format (v3, session 4) storing in each entry where its time ratio
  and frequency differences lie inside their key bins, so a lookup could test
  the features themselves: at the ranges' own tolerances (1 frame, 0.5 bin)
  it cut the chance matches against 1000 synthetic hours by 6x (lookup 14x ->
  ~65x real time) but dropped 30 % of the true matches in the ranges (club
  recall 0.919 -> 0.856); at tolerances where it drops 0.5 % it barely cuts
  anything. What it showed: under club conditions true matches stray past the
  query tolerances; probing with 3 frames and 1.5 bins (ranges x6) finds 44 %
  more true matches and, with the fine test and ``MIN_INLIERS`` 28, took club
  recall to 0.946 (precision 0.991), but a 60-minute mix ran at 113x instead
  of 350x with 167 MB. Cheaper wide probing (coarser key bins plus the fine
  test) is the open lever for recall; it costs reads against big libraries;
* a library ``F_MIN`` of 70 Hz (bass heard while a low-pass opens): recall
  0.910 on 12.7 hours, one wrong report more, 8 % larger index; below ~110 Hz
  an FFT bin (7.8 Hz) spans 3-5 log bins, too coarse for distinct peaks.

Analysis runs at 8 kHz mono (DJ mixes keep their identity below 4 kHz and it
quarters the work of 16 kHz), 1024-sample windows with a 128-sample hop (16 ms
frames), mapped to 24 bins per octave between 110 Hz and 3.6 kHz.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 8000
N_FFT = 1024
HOP = 128
FRAME_S = HOP / SAMPLE_RATE  # 16 ms
BINS_PER_OCTAVE = 24
F_MIN = 110.0
F_MAX = 3600.0
N_BINS = int(np.floor(BINS_PER_OCTAVE * np.log2(F_MAX / F_MIN))) + 1

# Peak picking: a peak is the maximum of its neighbourhood and stands out of it.
PEAK_HALF_T = 10  # frames (±160 ms)
PEAK_HALF_F = 5  # log bins (±5/24 octave)
PEAK_MIN_PROMINENCE = 0.35  # log10 units above the neighbourhood mean (3.5 dB)
PEAK_FLOOR = -7.0  # log10 power; below it is (near) digital silence
# The strongest peaks kept per second: a ceiling only dense passages reach (22-24
# a second on club mixes; 0.2-0.4 % of their peaks lie above 30). Indexes are
# built with it, so a lower one changes fingerprints and needs every library
# rebuilt (FINGERPRINT_VERSION); for a few tenths of a per cent it is left.
MAX_PEAKS_PER_S = 62

# Triplet zone: partners follow the anchor within this time and frequency distance.
DT_MIN = 2  # frames
DT_MAX = 62  # frames (~1 s)
DF_MAX = 30.0  # log bins (1.25 octaves)
DT13_MIN = 10  # frames
REF_FANOUT = 3  # partners per anchor stored in the library (3 triplets)
QUERY_FANOUT = 5  # partners per anchor formed from a mix (10 triplets)

# Hash quantisation.
R_LEVELS = 16
DF_STEP = 1.5
DF_LEVELS = int(2 * DF_MAX / DF_STEP) + 1
F1_BAND = 8  # log bins per anchor band (1/3 octave)
F1_LEVELS = N_BINS // F1_BAND + 1
# t3 - t1 in whole frames, in the key's lowest digit: the frames a ±8 % speed
# change allows are then one contiguous key range (see ``query_ranges``).
DT_LEVELS = DT_MAX - DT13_MIN + 1

# Query-side tolerance: how far each feature may move between reference and mix.
SPEED_TOL = 0.085  # ±8 % plus margin
R_JITTER_FRAMES = 1.0
DF_JITTER = 0.5
F1_SHIFT = BINS_PER_OCTAVE * np.log2(1 + SPEED_TOL) + 0.6
# Pitch gate (``pitch_gate``): keylock keeps the anchor within this many bins;
# vinyl moves it by the speed, known from one triplet to about a frame.
KEYLOCK_PITCH_TOL = 0.8
VINYL_PITCH_TOL = 1.2
VINYL_PITCH_TOL_FRAMES = 36.0
_F1_STORE_STEP = 0.125  # stored anchors are rounded to a quarter bin


@dataclass
class Peaks:
    """Spectral peaks in time order: frame index, fractional log-bin, log power."""

    t: np.ndarray  # int64 frames
    f: np.ndarray  # float32 log bins
    m: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.t)


@dataclass
class Triplets:
    """Hash inputs of triplets: anchor time/frequency and the invariant features."""

    t1: np.ndarray  # int64 frames
    dt13: np.ndarray  # int64 frames
    f1: np.ndarray  # float32 log bins
    r: np.ndarray  # float32 in (0, 1]
    df12: np.ndarray  # float32
    df13: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.t1)

    def part(self, lo: int, hi: int) -> Triplets:
        """Triplets ``lo:hi`` (views)."""
        return Triplets(
            self.t1[lo:hi],
            self.dt13[lo:hi],
            self.f1[lo:hi],
            self.r[lo:hi],
            self.df12[lo:hi],
            self.df13[lo:hi],
        )


def _log_filterbank() -> np.ndarray:
    """Triangular filters centred on log-spaced frequencies, one FFT bin wide at least.

    Hand-built (a dozen lines) because librosa's loaders pull in numba, which
    costs more memory than this whole pipeline is allowed.
    """
    fft_freqs = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    centres = F_MIN * 2.0 ** (np.arange(N_BINS) / BINS_PER_OCTAVE)
    step = SAMPLE_RATE / N_FFT
    bank = np.zeros((len(fft_freqs), N_BINS), dtype=np.float32)
    for i, fc in enumerate(centres):
        half = max(fc * (2 ** (1 / BINS_PER_OCTAVE) - 1), step)
        w = np.clip(1.0 - np.abs(fft_freqs - fc) / half, 0.0, None)
        bank[:, i] = w / w.sum()
    return bank


_BANK = _log_filterbank()
_WINDOW = np.hanning(N_FFT).astype(np.float32)


def _sparse_bank(bank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The filterbank's non-zero weights grouped by output bin: (FFT bin, weight, group start).

    The triangles are narrow (~2 % of the dense matrix is non-zero), so a gather
    and a segmented sum do a fiftieth of a dense matrix product's work; the
    product was most of the spectrogram's time.
    """
    rows, cols = np.nonzero(bank.T)  # ordered by output bin
    starts = np.searchsorted(rows, np.arange(bank.shape[1]))
    return cols.astype(np.intp), bank.T[rows, cols].astype(np.float32), starts.astype(np.intp)


_BANK_ROWS, _BANK_W, _BANK_STARTS = _sparse_bank(_BANK)


def _frames_to_logspec(samples: np.ndarray) -> np.ndarray:
    """Log-frequency log-power spectrogram of complete frames in ``samples``."""
    n = 1 + (len(samples) - N_FFT) // HOP
    if n <= 0:
        return np.zeros((0, N_BINS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP][:n]
    out = np.empty((n, N_BINS), dtype=np.float32)
    # numpy's FFT works in complex128: a few hundred frames at a time keeps
    # its temporaries at a few MB instead of tens.
    step = 256
    for i in range(0, n, step):
        spec = np.fft.rfft(frames[i : i + step] * _WINDOW, axis=1)
        power = (spec.real**2 + spec.imag**2).astype(np.float32)
        weighted = power[:, _BANK_ROWS] * _BANK_W
        out[i : i + step] = np.log10(np.add.reduceat(weighted, _BANK_STARTS, axis=1) + 1e-10)
    return out


class PeakStream:
    """Turn a stream of mono 8 kHz samples into spectral peaks in bounded memory.

    Spectrogram frames are kept only for the peak neighbourhood's width, so a
    six-hour mix costs the same memory as a short one (apart from the peaks).
    """

    CHUNK_FRAMES = 2048

    def __init__(self) -> None:
        self._samples = np.zeros(0, dtype=np.float32)
        self._next_frame = 0  # frame index of the first frame in _samples
        self._spec = np.zeros((0, N_BINS), dtype=np.float32)
        self._spec_start = 0  # frame index of _spec[0]
        self._emitted = 0  # peaks are final for frames < _emitted
        self.frames = 0

    def feed(self, samples: np.ndarray) -> Peaks | None:
        self._samples = np.concatenate([self._samples, samples.astype(np.float32, copy=False)])
        n = 1 + (len(self._samples) - N_FFT) // HOP if len(self._samples) >= N_FFT else 0
        if n < self.CHUNK_FRAMES:
            return None
        used = n * HOP
        new = _frames_to_logspec(self._samples[: used + N_FFT - HOP])
        self._samples = self._samples[used:]
        return self._push(new, final=False)

    def finish(self) -> Peaks | None:
        # Pad the tail so the last partial frame is analysed too.
        tail = np.concatenate([self._samples, np.zeros(N_FFT, dtype=np.float32)])
        new = _frames_to_logspec(tail)
        self._samples = np.zeros(0, dtype=np.float32)
        return self._push(new, final=True)

    def _push(self, new: np.ndarray, final: bool) -> Peaks | None:
        self.frames += len(new)
        self._spec = np.concatenate([self._spec, new]) if len(self._spec) else new
        end = self._spec_start + len(self._spec)
        upto = end if final else end - PEAK_HALF_T
        if upto <= self._emitted:
            return None
        peaks = _pick_peaks(self._spec, self._spec_start, self._emitted, upto)
        self._emitted = upto
        keep_from = max(self._emitted - PEAK_HALF_T, self._spec_start)
        self._spec = self._spec[keep_from - self._spec_start :]
        self._spec_start = keep_from
        return peaks


def _running_max(x: np.ndarray, half: int, axis: int) -> np.ndarray:
    """Maximum over ``[i - half, i + half]`` along ``axis`` (outside counts as -inf).

    Doubling spans (1, 2, 4, ... frames) take log2(window) passes instead of one
    per element of the window.
    """
    x = np.moveaxis(x, axis, 0)
    n = len(x)
    pad = np.full((half,) + x.shape[1:], -np.inf, dtype=x.dtype)
    y = np.concatenate([pad, x, pad])
    width = 2 * half + 1
    acc = y.copy()  # acc[i] = max(y[i : i + span])
    span = 1
    while span * 2 <= width:
        acc[: len(acc) - span] = np.maximum(acc[: len(acc) - span], acc[span:])
        span *= 2
    # Two overlapping power-of-two spans cover the window exactly.
    out = np.maximum(acc[:n], acc[width - span : width - span + n])
    return np.moveaxis(out, 0, axis)


def _running_mean(x: np.ndarray, half: int, axis: int) -> np.ndarray:
    """Mean over ``[i - half, i + half]`` along ``axis``, edges repeated."""
    x = np.moveaxis(x, axis, 0)
    y = np.concatenate([np.repeat(x[:1], half, 0), x, np.repeat(x[-1:], half, 0)])
    c = np.cumsum(y, axis=0, dtype=np.float64)
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), c])
    width = 2 * half + 1
    out = ((c[width:] - c[:-width]) / width).astype(x.dtype)
    return np.moveaxis(out, 0, axis)


def _pick_peaks(spec: np.ndarray, spec_start: int, lo: int, hi: int) -> Peaks:
    """Peaks of ``spec`` (frames from ``spec_start``) whose frame lies in [lo, hi).

    The neighbourhood filters are numpy, not scipy.ndimage: importing scipy
    costs ~27 MB of RSS, a fifth of the memory budget of ``cratebot id``.
    """
    local_max = _running_max(_running_max(spec, PEAK_HALF_T, 0), PEAK_HALF_F, 1)
    local_mean = _running_mean(_running_mean(spec, PEAK_HALF_T, 0), PEAK_HALF_F, 1)
    is_peak = (spec == local_max) & (spec > local_mean + PEAK_MIN_PROMINENCE) & (spec > PEAK_FLOOR)
    is_peak[:, 0] = False
    is_peak[:, -1] = False
    rows = np.arange(len(spec)) + spec_start
    is_peak[(rows < lo) | (rows >= hi)] = False
    ti, fi = np.nonzero(is_peak)
    if len(ti) == 0:
        return Peaks(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.float32))
    # Parabolic interpolation gives the frequency a fraction of a bin precision.
    a, b, c = spec[ti, fi - 1], spec[ti, fi], spec[ti, fi + 1]
    denom = a - 2 * b + c
    offset = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1), 0.0)
    f = fi + np.clip(offset, -0.5, 0.5)
    order = np.lexsort((f, ti))
    return Peaks(
        (ti[order] + spec_start).astype(np.int64),
        f[order].astype(np.float32),
        b[order].astype(np.float32),
    )


def _thin(peaks: Peaks, per_s: int = MAX_PEAKS_PER_S) -> Peaks:
    """Keep at most ``per_s`` of the strongest peaks in each second."""
    if len(peaks) == 0:
        return peaks
    second = peaks.t // int(round(1.0 / FRAME_S))
    # rank within each second by magnitude, strongest first
    order = np.lexsort((-peaks.m, second))
    sec_sorted = second[order]
    starts = np.searchsorted(sec_sorted, sec_sorted, side="left")
    rank = np.arange(len(order)) - starts
    keep = np.sort(order[rank < per_s])
    return Peaks(peaks.t[keep], peaks.f[keep], peaks.m[keep])


def concat_peaks(parts: Iterable[Peaks]) -> Peaks:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return Peaks(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.float32))
    return Peaks(
        np.concatenate([p.t for p in parts]),
        np.concatenate([p.f for p in parts]),
        np.concatenate([p.m for p in parts]),
    )


def peaks_from_blocks(blocks: Iterable[np.ndarray]) -> tuple[Peaks, int]:
    """All peaks of a stream of mono 8 kHz blocks, and the number of frames analysed."""
    stream = PeakStream()
    parts: list[Peaks] = []
    for block in blocks:
        mono = block[:, 0] if block.ndim == 2 else block
        got = stream.feed(mono)
        if got is not None:
            parts.append(_thin(got))
    got = stream.finish()
    if got is not None:
        parts.append(_thin(got))
    return concat_peaks(parts), stream.frames


def peaks_from_samples(samples: np.ndarray) -> Peaks:
    """Peaks of an in-memory mono 8 kHz signal (tests, short windows)."""
    return peaks_from_blocks([samples[i : i + 65536] for i in range(0, len(samples), 65536)])[0]


def triplets(peaks: Peaks, fanout: int) -> Triplets:
    """Triplets (anchor, two of its first ``fanout`` partners) of time-ordered peaks."""
    n = len(peaks)
    empty = Triplets(*(np.zeros(0, np.int64),) * 2, *(np.zeros(0, np.float32),) * 4)
    if n < 3:
        return empty
    t, f = peaks.t, peaks.f
    # Enough look-ahead that the first ``fanout`` partners in the zone are found.
    look = int(min(n - 1, np.max(np.searchsorted(t, t + DT_MAX, side="right") - np.arange(n))))
    idx = np.arange(n)[:, None] + np.arange(1, look + 1)[None, :]
    inside = idx < n
    idx = np.where(inside, idx, n - 1)
    dt = t[idx] - t[:, None]
    df = f[idx] - f[:, None]
    valid = inside & (dt >= DT_MIN) & (dt <= DT_MAX) & (np.abs(df) <= DF_MAX)
    rank = np.cumsum(valid, axis=1)
    chosen = valid & (rank <= fanout)
    # partner table (n, fanout), -1 where an anchor has fewer partners
    partners = np.full((n, fanout), -1, dtype=np.int64)
    rows, cols = np.nonzero(chosen)
    partners[rows, rank[rows, cols] - 1] = idx[rows, cols]
    del idx, dt, df, valid, rank, chosen
    pa, pb = np.triu_indices(fanout, k=1)
    i1 = np.repeat(np.arange(n), len(pa))
    i2 = partners[:, pa].ravel()
    i3 = partners[:, pb].ravel()
    ok = (i2 >= 0) & (i3 >= 0)
    i1, i2, i3 = i1[ok], i2[ok], i3[ok]
    dt13 = t[i3] - t[i1]
    ok = dt13 >= DT13_MIN
    i1, i2, i3, dt13 = i1[ok], i2[ok], i3[ok], dt13[ok]
    if len(i1) == 0:
        return empty
    return Triplets(
        t1=t[i1],
        dt13=dt13,
        f1=f[i1],
        r=((t[i2] - t[i1]) / dt13).astype(np.float32),
        df12=f[i2] - f[i1],
        df13=f[i3] - f[i1],
    )


def _q_r(r: np.ndarray) -> np.ndarray:
    return np.minimum((r * R_LEVELS).astype(np.int64), R_LEVELS - 1)


def _q_df(df: np.ndarray) -> np.ndarray:
    return np.clip(np.floor((df + DF_MAX) / DF_STEP).astype(np.int64), 0, DF_LEVELS - 1)


def _q_f1(f1: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(f1 / F1_BAND).astype(np.int64), 0, F1_LEVELS - 1)


def _q_dt(dt13: np.ndarray) -> np.ndarray:
    levels: np.ndarray = np.clip(np.asarray(dt13, dtype=np.int64) - DT13_MIN, 0, DT_LEVELS - 1)
    return levels


def _combine(
    qr: np.ndarray, qa: np.ndarray, qb: np.ndarray, qf: np.ndarray, qd: np.ndarray
) -> np.ndarray:
    key = qr
    key = key * DF_LEVELS + qa
    key = key * DF_LEVELS + qb
    key = key * F1_LEVELS + qf
    key = key * DT_LEVELS + qd
    packed: np.ndarray = key.astype(np.uint32)
    return packed


KEY_SPACE = R_LEVELS * DF_LEVELS * DF_LEVELS * F1_LEVELS * DT_LEVELS
assert KEY_SPACE < 2**32


def ref_keys(tr: Triplets) -> np.ndarray:
    """One hash per reference triplet."""
    return _combine(_q_r(tr.r), _q_df(tr.df12), _q_df(tr.df13), _q_f1(tr.f1), _q_dt(tr.dt13))


def _spans(lo_q: np.ndarray, hi_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First bin and bin count covering [lo, hi] of quantised bounds.

    Every bin the range touches is probed: a feature near a bin edge can move
    into the next bin (or, for the anchor band, two) under an 8 % speed change.
    """
    return lo_q, np.clip(hi_q - lo_q + 1, 1, None)


def dt13_range(dt13: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference ``t3 - t1`` (frames, inclusive) a query ``t3 - t1`` can match.

    ±``SPEED_TOL`` plus a frame of jitter either side; ``matching`` gates on the
    same bounds, so probing exactly this range loses nothing.
    """
    q = np.asarray(dt13, dtype=np.float64)
    lo = np.floor(q * (1 - SPEED_TOL)).astype(np.int64) - 1
    hi = np.ceil(q * (1 + SPEED_TOL)).astype(np.int64) + 1
    return lo, hi


def pitch_gate(pitch: np.ndarray, ref_dt13: np.ndarray, query_dt13: np.ndarray) -> np.ndarray:
    """Whether a match's anchor pitch shift (query minus reference, log bins) fits
    keylock (no shift) or vinyl (the shift its ``t3 - t1`` ratio implies).

    The speed from one triplet is only good to about a frame of ``t3 - t1``,
    hence the vinyl tolerance that shrinks as ``t3 - t1`` grows.
    """
    qdt = np.maximum(query_dt13, 1)
    vinyl = LOG_BINS[ref_dt13] - LOG_BINS[qdt]  # a table: a logarithm per entry costs
    size = np.abs(pitch)
    ok: np.ndarray = (size <= F1_SHIFT) & (
        (size <= KEYLOCK_PITCH_TOL) | (np.abs(pitch - vinyl) <= _vinyl_tol(qdt))
    )
    return ok


def _vinyl_tol(query_dt13: np.ndarray) -> np.ndarray:
    """How far (log bins) a vinyl match's pitch shift may stray from its speed's."""
    tol: np.ndarray = VINYL_PITCH_TOL + VINYL_PITCH_TOL_FRAMES / np.maximum(query_dt13, 1)
    return tol


# BINS_PER_OCTAVE * log2(n) for every t3 - t1 (frames) a triplet can have.
LOG_BINS = (BINS_PER_OCTAVE * np.log2(np.maximum(np.arange(2 * DT_MAX + 2), 1))).astype(np.float32)


def query_ranges(tr: Triplets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every key range a reference triplet matching this query triplet lies in.

    Returns ``(lo, hi, owner)``: keys ``lo[i] <= key < hi[i]`` are candidates for
    query triplet ``owner[i]``. ``t3 - t1`` is the key's lowest digit in whole
    frames, so the speed tolerance is one range per combination of the other
    features' bins instead of a point probe per (combination, dt class), and a
    hit's ``t3 - t1`` is already in range.

    Each anchor band's range is cut to the ``t3 - t1`` values ``pitch_gate``
    accepts for the pitch shifts that band allows: a band the anchor can only
    reach by a vinyl shift pairs with the speeds that shift implies, not with
    all of ±8 % (only bands within the keylock tolerance keep the whole range).
    Speed and pitch are then gated in the key ranges themselves, for the same
    matches: against real music (a 1000-hour library extrapolated from 2.5
    hours) ~8 % fewer entries to read; more with narrower anchor bands, which
    need a new index format (see the closing notes of #14).
    """
    dtq = tr.dt13.astype(np.float32)
    r_tol = R_JITTER_FRAMES / dtq
    features = [
        _spans(_q_r(np.clip(tr.r - r_tol, 0, 1)), _q_r(np.clip(tr.r + r_tol, 0, 1))),
        _spans(_q_df(tr.df12 - DF_JITTER), _q_df(tr.df12 + DF_JITTER)),
        _spans(_q_df(tr.df13 - DF_JITTER), _q_df(tr.df13 + DF_JITTER)),
        _spans(_q_f1(tr.f1 - F1_SHIFT), _q_f1(tr.f1 + F1_SHIFT)),
    ]
    counts = np.ones(len(tr), dtype=np.int64)
    for _, c in features:
        counts *= c
    owner = np.repeat(np.arange(len(tr)), counts)
    # Enumerate the combinations by mixed-radix decoding of a per-owner counter.
    sub = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    parts = []
    for lo, c in features:
        cc = c[owner]
        parts.append(lo[owner] + sub % cc)
        sub = sub // cc
    del sub
    dlo, dhi = dt13_range(tr.dt13[owner])
    dlo = np.maximum(dlo, DT13_MIN)
    dhi = np.minimum(dhi, DT_MAX)
    # Pitch shifts (query minus reference anchor) this band allows; stored
    # anchors are rounded to a quarter bin, hence the margin.
    f1q = tr.f1[owner].astype(np.float64)
    band = parts[3]
    p_hi = np.minimum(f1q - band * F1_BAND + _F1_STORE_STEP, F1_SHIFT)
    p_lo = np.maximum(f1q - (band + 1) * F1_BAND - _F1_STORE_STEP, -F1_SHIFT)
    keylock = (p_lo <= KEYLOCK_PITCH_TOL) & (p_hi >= -KEYLOCK_PITCH_TOL)
    qdt = np.maximum(tr.dt13[owner], 1).astype(np.float64)
    tol = _vinyl_tol(qdt)
    vlo = np.floor(qdt * 2.0 ** ((p_lo - tol) / BINS_PER_OCTAVE) - 1e-6).astype(np.int64)
    vhi = np.ceil(qdt * 2.0 ** ((p_hi + tol) / BINS_PER_OCTAVE) + 1e-6).astype(np.int64)
    dlo = np.where(keylock, dlo, np.maximum(dlo, vlo))
    dhi = np.where(keylock, dhi, np.minimum(dhi, vhi))
    ok = (dlo <= dhi) & (p_lo <= p_hi)
    start = _combine(parts[0][ok], parts[1][ok], parts[2][ok], parts[3][ok], _q_dt(dlo[ok])).astype(
        np.int64
    )
    return start, start + (dhi - dlo + 1)[ok], owner[ok]


@dataclass
class Fingerprint:
    """Reference hashes of one track: keys and their anchor data."""

    keys: np.ndarray  # uint32
    t1: np.ndarray  # int64 frames
    dt13: np.ndarray  # int64 frames
    f1: np.ndarray  # float32 log bins
    frames: int
    # The peaks the triplets were made of (peak_store.py keeps them for verify.py).
    peaks: Peaks | None = None

    @property
    def duration_s(self) -> float:
        return self.frames * FRAME_S


def reference_fingerprint(blocks: Iterable[np.ndarray]) -> Fingerprint:
    peaks, frames = peaks_from_blocks(blocks)
    tr = triplets(peaks, REF_FANOUT)
    keys = ref_keys(tr)
    # Identical (key, time) pairs add nothing but index size.
    packed = (keys.astype(np.uint64) << np.uint64(32)) | tr.t1.astype(np.uint64)
    _, first = np.unique(packed, return_index=True)
    first.sort()
    return Fingerprint(keys[first], tr.t1[first], tr.dt13[first], tr.f1[first], frames, peaks)


def iter_blocks_mono(samples: np.ndarray, block: int = 65536) -> Iterator[np.ndarray]:
    for i in range(0, len(samples), block):
        yield samples[i : i + block]
