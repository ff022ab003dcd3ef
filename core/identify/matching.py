"""From a mix's fingerprints to plays: lookup, gating, local alignment and line fits.

A play of track T at speed s starting at reference frame R0 maps mix frame q to
reference frame ``r = s * q + c``. Matching hashes of one play therefore lie on
one line in the (q, r) plane. The steps:

1. Lookup, then *gate* each hash match (``lookup.py``, as the mix streams): the
   ratio of reference to mix ``t3 - t1`` is the local speed and must lie in
   0.92–1.08 (± a frame of jitter), and the anchor's frequency may only move as
   far as an 8 % vinyl shift allows. Random key collisions mostly fail these.
2. *Seeds*: in 10-second mix windows, count matches per (track, r - q) bin; over
   10 s even an 8 % speed change moves ``r - q`` by under a second, so a play
   shows up as a peak. A bigger library asks more matches of a seed
   (``seed_min_for``): it has more tracks to give chance seeds.
3. *Chains*: seeds of one track whose offsets continue each other (drift of at
   most 9 % of the elapsed time) form one play; the heaviest chain is taken
   first, then the next, so a track played twice gives two plays and a loop
   repeating inside a track does not. A chain that fits no play (step 4) gives
   back only its own seeds, so a weak play under chance alignments still
   gets its turn.
4. *Fit*: a least-squares line through the chain's matches gives the speed and
   the exact inliers; the first and last dense inliers give start and end, so
   start times do not snap to window boundaries; sparse inliers before them
   move the start back where the track's chance matches are rare (a fade-in).
   A play is its inliers standing out of the track's chance matches around
   the line (SIGNIFICANCE; twice that when they are fewer than MIN_INLIERS).
   Lines the triplets leave in doubt get a second look on single peaks
   (verify.py); chains too light to be plays on triplets are fitted across all
   tracks, and the most significant of them get that look (``_light_plays``).
5. *Shadows*: a play mostly under a much stronger one is dropped unless it is
   clearly significant (a double drop); one that shares most of its inliers'
   query triplets with a stronger play of another track is the same
   recording in another file and becomes that play's alternative.
6. *Start*: a track faded in has no matches in the first part of the fade, so
   the first inlier is late; the start is put where the inliers' rate begins
   to rise (``_start_at_ramp``). On club mixes against 12.7 hours this took
   the median start error from 3.38 s to 2.39 s (4 mixes; filter sweeps 3.86
   -> 2.73 s late, double drops 1.02 -> 0.11 s; 6 mixes: 3.65 -> 2.65 s), on
   plain mixes from 1.72 to 0.84 s.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from core.identify import fingerprint as fp
from core.identify.verify import PeakVerifier

WINDOW_FRAMES = int(round(10.0 / fp.FRAME_S))
OFFSET_BIN = 48  # frames (~0.77 s)
SEED_MIN = 6
# A bigger library gives more tracks the chance to make seeds: chance matches
# per track and window do not shrink with the library (measured: a seed bin and
# its neighbours hold ~1.9 of them on average against 12.7 hours and against
# 1000 hours alike), so their count grows with its size. Past SEED_BASE_ENTRIES
# index entries (~45 hours) a seed needs more matches, as many as keep the
# chance seeds per window (Poisson, mean SEED_CHANCE) where SEED_MIN keeps them
# at that size: real entries of a 1000-hour library (218 M) need 9, and the
# pruner then keeps 4.8 M of 84 M matches of a 5-minute mix instead of 68 M.
SEED_BASE_ENTRIES = 10_000_000
SEED_CHANCE = 2.0
SEEDS_PER_WINDOW = 3  # strongest alignments kept per (track, window)
CHAIN_GAP_WINDOWS = 3
CHAIN_DRIFT = 0.09
PLAY_MIN_SCORE = 25
FIT_TOL = 6  # frames: inlier distance from the fitted line
EXTEND_FRAMES = 2 * WINDOW_FRAMES
MIN_INLIERS = 20
# A play must stand out of its own track's chance matches around it: at least
# SIGNIFICANCE standard deviations (Poisson) above the count expected on the
# line from the density of that track's matches in a band either side of it.
# This adapts to the library: a small one gives each track many chance
# matches, a 1000-hour one few; a loud room or reverb lowers true plays' rates
# (to ~1 inlier a second) without lowering them below a background that low.
SIGNIFICANCE = 6.0
# Fewer inliers than MIN_INLIERS (a short play under a double drop or reverb
# keeps 12-19) are a play only when twice as significant: on club mixes
# against 12.7 hours, chance lines with 10-19 inliers reached at most 9.4
# standard deviations, the weak true plays that pass 12.3-13.8.
FEW_INLIERS = 12
FEW_SIGNIFICANCE = 2 * SIGNIFICANCE
BACKGROUND_BAND = 10 * OFFSET_BIN  # frames either side of the line
# ... and the larger of that and the density just beside the line (past the
# inliers' jitter): chance matches bunched around one offset (a riff that
# loosely repeats in a track) look sparse from the wide band and fit a line.
NEAR_BAND = int(1.5 * OFFSET_BIN)
SPEED_RANGE = (0.9, 1.1)
# A line the triplets leave in doubt (at least VERIFY_INLIERS inliers, at least
# VERIFY_SIGNIFICANCE standard deviations) gets a second look on single peaks
# (verify.py) and is a play when they beat the same line moved by
# PEAK_SIGNIFICANCE standard deviations; the play's span is widened by
# VERIFY_MARGIN either side for the count.
VERIFY_INLIERS = 6
VERIFY_MIN_SCORE = 12  # chains lighter than PLAY_MIN_SCORE looked at on peaks
VERIFY_PER_MINUTE = 5  # ... at most this many per minute of mix
LIGHT_FITS_PER_MINUTE = 20  # ... chosen from the fits of this many
# ... and at most this many of one track's: in a small library a track dense in
# chance matches would take most of the fits with its chance chains (a 60-minute
# mix against 22 tracks: find_plays 2.7 -> 1.7 s CPU, the same plays on 9 club
# mixes; 4 lost one).
LIGHT_PER_TRACK = 8
VERIFY_SIGNIFICANCE = 2.0
PEAK_SIGNIFICANCE = 8.0
# A light chain's line passes on its triplets alone only this significant: far
# more light chains are fitted than heavy ones, and chance light lines reached
# 11.6 standard deviations on 9 club mixes (heavy ones 9.4); a short play of
# drums, whose peaks reverb smears (6.6 on peaks), had 19 inliers at 17.
LIGHT_SIGNIFICANCE = 2.5 * SIGNIFICANCE
VERIFY_MARGIN = int(5.0 / fp.FRAME_S)


# Matches from several indexes (say a chat's crate and the operator's library)
# carry the index's position in the high bits of their track code, so track ids
# of different databases never mix; ``LocalPlay.source`` gives the position back.
SOURCE_SHIFT = 32


@dataclass
class Matches:
    """Gated hash matches: mix frame, reference frame, track code, pitch shift (bins).

    ``track`` is ``source << 32 | track id`` (source: the index's position).
    """

    track: np.ndarray
    qt: np.ndarray
    rt: np.ndarray
    pitch: np.ndarray

    @classmethod
    def empty(cls) -> Matches:
        z = np.zeros(0, np.int32)
        return cls(np.zeros(0, np.int64), z, z, np.zeros(0, np.float16))

    @classmethod
    def concat(cls, parts: list[Matches]) -> Matches:
        """One Matches of all ``parts``, which are emptied field by field as it goes
        (so the whole exists about once in memory, not twice)."""
        parts = [p for p in parts if len(p.qt)]
        if not parts:
            return cls.empty()
        fields = []
        for f in ("track", "qt", "rt", "pitch"):
            fields.append(np.concatenate([getattr(p, f) for p in parts]))
            for p in parts:
                setattr(p, f, getattr(p, f)[:0])
        return cls(*fields)

    def select(self, mask: np.ndarray) -> Matches:
        return Matches(self.track[mask], self.qt[mask], self.rt[mask], self.pitch[mask])

    def __len__(self) -> int:
        return len(self.qt)


@dataclass
class LocalPlay:
    track_id: int
    start_s: float
    end_s: float
    speed: float
    pitch_shift: float  # semitones; ~0 under keylock, 12*log2(speed) on vinyl
    inliers: int
    ref_start_s: float  # reference position played at start_s
    expected: float = 0.0  # inliers chance alone would put on this line
    # Standard deviations by which the track's single peaks confirmed a play the
    # triplets left in doubt (verify.py); 0.0 when the triplets sufficed.
    peak_evidence: float = 0.0
    source: int = 0  # position of the index the track is in (StreamingMatcher's list)
    # Other tracks' plays this one shadowed: what a doubtful match might really be.
    alternatives: list[LocalPlay] = field(default_factory=list)
    # Mix frames of the inliers' anchors: two tracks heard in the same query
    # triplets are one recording in two files, not a double drop.
    anchors: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.int32), repr=False, compare=False
    )

    @property
    def code(self) -> int:
        """The track's code in matches (the index's position and the track id)."""
        return (self.source << SOURCE_SHIFT) | self.track_id

    @property
    def significance(self) -> float:
        """Standard deviations above the chance count on the play's line."""
        return max(
            (self.inliers - self.expected) / float(np.sqrt(self.expected + 1.0)),
            self.peak_evidence,
        )

    @property
    def confidence(self) -> float:
        # A heuristic: chance alignments stay under ~20 inliers; 150 is a sure match.
        return float(np.clip(1.0 - np.exp(-(self.inliers - 20) / 50.0), 0.05, 1.0))


def _poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    term, below = math.exp(-mean), 0.0
    for i in range(k):
        below += term
        term *= mean / (i + 1)
    return max(1.0 - below, 0.0)


def seed_min_for(entries: int) -> int:
    """Fewest matches (a bin and its neighbours) a seed needs against a library of
    ``entries`` index entries."""
    allowed = _poisson_tail(SEED_MIN, SEED_CHANCE) * SEED_BASE_ENTRIES / max(entries, 1)
    need = SEED_MIN
    while need < 64 and _poisson_tail(need, SEED_CHANCE) > allowed:
        need += 1
    return need


def _seeds(
    m: Matches, edges: np.ndarray, seed_min: int = SEED_MIN
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (track, window, offset_bin, score) where a play shows as a local peak,
    for the tracks whose matches are ``m[edges[i]:edges[i + 1]]`` (``m`` sorted
    by track), and where each of those tracks' rows start (and end) in them.

    All of them at once: a big library keeps millions of matches of thousands
    of tracks, and a call a track cost more in numpy's per-call overhead than
    the counting itself (1.8 s of 3.3 for 4.8 M matches of 12 k tracks).
    """
    n_tracks = len(edges) - 1
    lo, hi = int(edges[0]), int(edges[-1])
    if hi == lo:
        return np.zeros((0, 4), np.int64), np.zeros(n_tracks + 1, np.int64)
    qt, rt = m.qt[lo:hi].astype(np.int64), m.rt[lo:hi].astype(np.int64)
    w = qt // WINDOW_FRAMES
    ob = np.floor_divide(rt - qt, OFFSET_BIN) + (1 << 21)
    # Code (track's place here, window, offset bin): a bin's neighbours are the
    # codes either side, within its own track and window.
    shift = 22 + max(int(w.max()).bit_length(), 1)
    if n_tracks.bit_length() + shift > 62:
        raise ValueError("too many tracks or too long a mix for one seed search")
    code = np.repeat(np.arange(n_tracks, dtype=np.int64), np.diff(edges)) << shift
    code |= w << 22
    code |= ob
    del qt, rt, w, ob
    uniq, counts = np.unique(code, return_counts=True)
    del code

    def count_at(c: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(uniq, c), 0, len(uniq) - 1)
        return np.where(uniq[pos] == c, counts[pos], 0)

    left, right = count_at(uniq - 1), count_at(uniq + 1)
    score = counts + left + right
    peak = (score >= seed_min) & (counts >= left) & (counts >= right)
    u, sc = uniq[peak], score[peak]
    # keep the strongest few alignments per (track, window): a play is one of them
    group = u >> 22
    order = np.lexsort((-sc, group))
    g = group[order]
    rank = np.arange(len(g)) - np.searchsorted(g, g, side="left")
    top = np.sort(order[rank < SEEDS_PER_WINDOW])
    u, sc = u[top], sc[top]
    place = u >> shift
    rows = np.stack(
        [
            m.track[edges[place]].astype(np.int64),
            (u >> 22) & ((1 << (shift - 22)) - 1),
            (u & ((1 << 22) - 1)) - (1 << 21),
            sc,
        ],
        axis=1,
    )
    return rows, np.searchsorted(place, np.arange(n_tracks + 1))


# Matches a seed search takes at once (tracks are not split): its temporaries
# are ~60 bytes a match (a million at once took a 60-minute mix's whole
# identification from 114 to 137 MB).
SEED_CHUNK = 1 << 17


def _track_chunks(edges: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of tracks (``edges``: where each track's matches start) of
    about ``size`` matches each."""
    cuts = np.flatnonzero(np.diff(edges[:-1] // size)) + 1
    bounds = [0, *cuts.tolist(), len(edges) - 1]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _best_chain(
    seeds: np.ndarray, alive: np.ndarray, min_score: int = PLAY_MIN_SCORE
) -> np.ndarray | None:
    """Indexes (into ``seeds``, sorted by window) of the heaviest chain of consistent
    offsets among the ``alive`` seeds, or None when none scores ``min_score``."""
    idx = np.nonzero(alive)[0]
    if len(idx) == 0:
        return None
    s = seeds[idx]
    # Plain lists: each seed looks back at the few seeds of the last
    # CHAIN_GAP_WINDOWS windows, too few for numpy's per-call cost to pay.
    w = s[:, 1].tolist()
    ob = (s[:, 2] * OFFSET_BIN).tolist()
    sc = s[:, 3].astype(np.float64).tolist()
    first = np.searchsorted(s[:, 1], s[:, 1] - CHAIN_GAP_WINDOWS, side="left").tolist()
    best = list(sc)
    prev = [-1] * len(w)
    slack = CHAIN_DRIFT * WINDOW_FRAMES
    for i in range(len(w)):
        top, arg = -1.0, -1
        for j in range(first[i], i):
            dw = w[i] - w[j]
            near = abs(ob[i] - ob[j]) <= slack * dw + 2 * OFFSET_BIN
            if 0 < dw <= CHAIN_GAP_WINDOWS and near and best[j] > top:
                top, arg = best[j], j
        if arg >= 0:
            best[i] = sc[i] + top
            prev[i] = arg
    end = int(np.argmax(best))
    if best[end] < min_score:
        return None
    path = []
    k = end
    while k >= 0:
        path.append(k)
        k = prev[k]
    return np.asarray(idx[path[::-1]])


# Chains that fit no play and give back only their own seeds, per track; after
# that a failed chain takes its whole span, as a fitted one does. Every extra
# chain tried is another chance for chance matches to pass the significance
# test (in a five-song library one did), so the retries are few.
RETRIES = 2


def _plays_of_track(
    m: Matches,
    seeds: np.ndarray,
    verifier: PeakVerifier | None = None,
    leftovers: list[_Leftover] | None = None,
) -> list[LocalPlay]:
    """Chains of one track's seeds, heaviest first, each fitted to a play.

    A chain that fits no play (chance alignments, which a small library gives
    every track plenty of) gives back only its own seeds: a weak true play in
    the same windows must still get its turn. A chain that fits a play takes
    every seed in its span along: other alignments there are the same play (a
    loop repeating inside the track), not another play.
    """
    seeds = seeds[np.lexsort((seeds[:, 2], seeds[:, 1]))]
    alive = np.ones(len(seeds), dtype=bool)
    spare = np.zeros(len(seeds), dtype=bool)
    plays = []
    failures = 0
    for _ in range(64):  # bounded: each round removes at least one seed
        path = _best_chain(seeds, alive)
        if path is None:
            break
        chain = seeds[path]
        play = _fit(m, chain, verifier)
        w = seeds[:, 1]
        if play is None and failures < RETRIES:
            failures += 1
            alive[path] = False
            continue
        span = (w >= chain[0, 1]) & (w <= chain[-1, 1])
        alive[path] = False
        if play is not None:
            plays.append(play)
        else:
            # Another alignment in a failed chain's span may still be a weak
            # play (a chance seed chained to the true one, whose fit then
            # followed the chance matches): its own chain gets a light look.
            spare |= span & alive
        alive[span] = False
    alive |= spare
    if leftovers is not None and alive.any():
        leftovers.append(_Leftover(m, seeds, alive))
    return plays


@dataclass
class _Leftover:
    """A track's matches and the seeds its plays left (for ``_light_plays``)."""

    m: Matches
    seeds: np.ndarray
    alive: np.ndarray


def _light_plays(
    leftovers: list[_Leftover], verifier: PeakVerifier, budget: int, candidates: int
) -> list[LocalPlay]:
    """Plays among chains too light for triplets alone (a short play under a double
    drop), on peaks alone. Up to ``candidates`` of the heaviest such chains of all
    tracks are fitted (cheap), then the ``budget`` lines whose triplets stand out
    most of their own track's chance matches are looked at on peaks (costly).
    Across tracks, because in a small library a track's own chance chains
    outweigh its weak true play, and per-track retries run out on them; ordered
    by significance, not weight, because a track dense in chance matches (a loop,
    a busy spectrum) has heavy chance chains: on 4 club mixes the true light
    chains ranked 2nd-3rd of ~600 by significance and out of the first 100 by
    weight."""
    # Heaviest first, lazily: a track enters with the sum of its seeds' scores (no
    # chain of it is heavier) and has its heaviest chain found only when that
    # bound comes first; a 1000-hour library leaves seeds on thousands of tracks.
    heap: list[tuple[int, int, np.ndarray | None]] = []

    def bound(k: int) -> None:
        left = leftovers[k]
        total = int(left.seeds[left.alive, 3].sum())
        if total >= VERIFY_MIN_SCORE:
            heapq.heappush(heap, (-total, k, None))

    for k in range(len(leftovers)):
        bound(k)
    lines: list[_Line] = []
    taken: dict[int, int] = {}
    while heap and candidates > 0:
        _, k, path = heapq.heappop(heap)
        left = leftovers[k]
        if path is None:
            path = _best_chain(left.seeds, left.alive, VERIFY_MIN_SCORE)
            if path is not None:
                heapq.heappush(heap, (-int(left.seeds[path, 3].sum()), k, path))
            continue
        candidates -= 1
        left.alive[path] = False
        line = _line_of(left.m, left.seeds[path], verifier)
        if line is not None and _doubtful(line, verifier):
            lines.append(line)
        taken[k] = taken.get(k, 0) + 1
        if taken[k] < LIGHT_PER_TRACK:
            bound(k)
    lines.sort(key=lambda line: -line.sd)
    plays: list[LocalPlay] = []
    for line in lines[:budget]:
        # A track's light chains in one span are one play, its echoes.
        if any(p.code == line.track and _overlaps(p, line) for p in plays):
            continue
        play = _confirm(line, verifier, peaks_only=True)
        if play is not None:
            plays.append(play)
    return plays


def _overlaps(play: LocalPlay, line: _Line) -> bool:
    return play.start_s < line.end * fp.FRAME_S and line.start * fp.FRAME_S < play.end_s


@dataclass
class _Line:
    """A chain's fitted line over one track's matches ``m`` (the chain's slice) and
    how its inliers stand out of that track's chance matches."""

    m: Matches
    track: int
    slope: float
    icpt: float
    start: int
    end: int
    inl: np.ndarray
    n: int
    expected: float
    sd: float


def _line_of(m: Matches, chain: np.ndarray, verifier: PeakVerifier | None = None) -> _Line | None:
    """The line a chain of seeds fits and its inliers' span, or None when too few
    inliers (``_fewest``) lie on it. ``m`` is one track's matches in mix order
    (``find_plays`` sorts them so)."""
    track = int(chain[0, 0])
    lo = chain[0, 1] * WINDOW_FRAMES - EXTEND_FRAMES
    hi = (chain[-1, 1] + 1) * WINDOW_FRAMES + EXTEND_FRAMES
    # Everything below looks only at [lo, hi): a slice, not a pass over all of a
    # track's matches per chain (a small library's tracks have 10^5 of them).
    a, b = np.searchsorted(m.qt, [lo, hi])
    m = Matches(m.track[a:b], m.qt[a:b], m.rt[a:b], m.pitch[a:b])
    qt, rt = m.qt.astype(np.int64), m.rt.astype(np.int64)  # this track's matches only
    w = qt // WINDOW_FRAMES
    # expected offset per window, interpolated between chain seeds
    expect = np.interp(w, chain[:, 1], (chain[:, 2] + 0.5) * OFFSET_BIN)
    sel = (w >= chain[0, 1]) & (w <= chain[-1, 1]) & (np.abs(rt - qt - expect) <= 1.5 * OFFSET_BIN)
    if sel.sum() < 3:
        return None
    x, y = qt[sel].astype(np.float64), rt[sel].astype(np.float64)
    slope, icpt = _robust_line(x, y)
    if not SPEED_RANGE[0] <= slope <= SPEED_RANGE[1]:
        return None
    inl = (qt >= lo) & (qt < hi) & (np.abs(rt - (slope * qt + icpt)) <= FIT_TOL)
    n = int(inl.sum())
    if n < _fewest(verifier):
        return None
    times = np.sort(qt[inl])
    resid = np.abs(rt - (slope * qt + icpt))
    # Chance inliers per frame on this line, from the track's matches beside it.
    beside = (qt >= lo) & (qt < hi) & (resid > FIT_TOL) & (resid <= BACKGROUND_BAND)
    rate = beside.sum() * (2 * FIT_TOL + 1) / (2 * (BACKGROUND_BAND - FIT_TOL)) / (hi - lo)
    gap = min(REACH_GAP_S / fp.FRAME_S, REACH_CHANCE / max(rate, 1e-9))
    start, end = _reach_out(times, *_dense_edges(times), int(gap))
    inl &= (qt >= start) & (qt <= end)
    n = int(inl.sum())
    span = (qt >= start) & (qt <= end)
    expected = _chance_on_line(resid[span], BACKGROUND_BAND)
    if NEAR_BAND > 0:
        expected = max(expected, _chance_on_line(resid[span], NEAR_BAND, 2 * FIT_TOL))
    sd = float((n - expected) / np.sqrt(expected + 1.0))
    return _Line(m, track, float(slope), float(icpt), start, end, inl, n, float(expected), sd)


def _fit(
    m: Matches, chain: np.ndarray, verifier: PeakVerifier | None = None, peaks_only: bool = False
) -> LocalPlay | None:
    """The play a chain of seeds fits, if its inliers (or, for a line they leave in
    doubt or with ``peaks_only``, its single peaks) say it is one. ``m`` is one
    track's matches in mix order (``find_plays`` sorts them so)."""
    line = _line_of(m, chain, verifier)
    return None if line is None else _confirm(line, verifier, peaks_only)


def _doubtful(line: _Line, verifier: PeakVerifier | None) -> bool:
    """Whether the line may have its single peaks looked at."""
    return verifier is not None and line.n >= VERIFY_INLIERS and line.sd >= VERIFY_SIGNIFICANCE


def _confirm(
    line: _Line, verifier: PeakVerifier | None, peaks_only: bool = False
) -> LocalPlay | None:
    """The line's play, when its triplets (or else its single peaks) say it is one."""
    n, sd = line.n, line.sd
    if peaks_only:
        enough = n >= FEW_INLIERS and sd >= LIGHT_SIGNIFICANCE
    else:
        enough = (
            n >= MIN_INLIERS and sd >= SIGNIFICANCE or n >= FEW_INLIERS and sd >= FEW_SIGNIFICANCE
        )
    evidence = 0.0
    if not enough:
        if verifier is None or not _doubtful(line, verifier):
            return None
        evidence = verifier.evidence(
            line.track,
            line.slope,
            line.icpt,
            line.start - VERIFY_MARGIN,
            line.end + VERIFY_MARGIN,
            pivot=float(line.m.qt[line.inl].astype(np.float64).mean()),
        )
        if evidence < PEAK_SIGNIFICANCE:
            return None
    pitch = float(np.median(line.m.pitch[line.inl].astype(np.float32))) * 12.0 / fp.BINS_PER_OCTAVE
    qt = line.m.qt[line.inl]
    return LocalPlay(
        track_id=line.track & ((1 << SOURCE_SHIFT) - 1),
        start_s=line.start * fp.FRAME_S,
        end_s=line.end * fp.FRAME_S,
        speed=line.slope,
        pitch_shift=pitch,
        inliers=n,
        ref_start_s=float(line.slope * line.start + line.icpt) * fp.FRAME_S,
        expected=line.expected,
        peak_evidence=evidence,
        source=line.track >> SOURCE_SHIFT,
        anchors=np.unique(qt).astype(np.int32),
    )


def _chance_on_line(resid: np.ndarray, band: int, skip: int = FIT_TOL) -> float:
    """Inliers chance alone puts within FIT_TOL of a line, from the matches whose
    distance to it lies in (skip, band]."""
    around = int(((resid > skip) & (resid <= band)).sum())
    return around * (2 * FIT_TOL + 1) / (2 * (band - skip))


SLOPE_STEP = 0.002  # over a 70 s play, half a step of speed error drifts ~2 frames


def _robust_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The line ``y = slope * x + icpt`` through the most points, then refined.

    A Hough search over speeds in SPEED_RANGE: least squares alone is pulled off
    a weak play (a minute of club noise gives ~1 true match a second) by the
    chance matches of the same track around it, and then fits a wrong speed.
    """
    x0 = float(x.mean())
    dx = (x - x0).astype(np.float32)
    yf = y.astype(np.float32)
    slopes = np.arange(SPEED_RANGE[0], SPEED_RANGE[1] + SLOPE_STEP / 2, SLOPE_STEP)
    best = _hough_all_at_once(yf, dx, slopes)
    if best is None:
        best = _hough_row_by_row(yf, dx, slopes)
    _, slope, centre = best
    inl = np.abs(yf - np.float32(slope) * dx - centre) <= FIT_TOL
    icpt = centre - slope * x0
    if inl.sum() >= 3 and np.ptp(x[inl]) >= 1:
        slope, icpt = (float(v) for v in np.polyfit(x[inl], y[inl], 1))
    return slope, icpt


# A few hundred matches (most chains) are binned for every speed at once: a
# loop over ~100 speeds costs more in numpy calls than in arithmetic there.
HOUGH_AT_ONCE = 1 << 17  # cells (speeds x matches, speeds x offset bins)


def _hough_all_at_once(
    yf: np.ndarray, dx: np.ndarray, slopes: np.ndarray
) -> tuple[int, float, float] | None:
    """``_hough_row_by_row``'s answer, computed as one array; None when too big."""
    if len(slopes) * len(yf) > HOUGH_AT_ONCE:
        return None
    c = yf[None, :] - slopes.astype(np.float32)[:, None] * dx[None, :]
    q = np.floor(c / FIT_TOL).astype(np.int64)
    q0 = q.min(axis=1)
    rel = q - q0[:, None]
    top = rel.max(axis=1)
    width = int(top.max()) + 2
    if len(slopes) * width > HOUGH_AT_ONCE:
        return None
    rows = np.arange(len(slopes))
    counts = np.bincount((rel + (rows * width)[:, None]).ravel(), minlength=len(slopes) * width)
    counts = counts.reshape(len(slopes), width)
    pair = counts[:, :-1] + counts[:, 1:]
    # Only the pairs the row-by-row search forms: within each row's own bins
    # (a row of one bin has the one "pair" of that bin).
    pair[np.arange(width - 1)[None, :] > np.maximum(top - 1, 0)[:, None]] = -1
    k = np.argmax(pair, axis=1)
    value = pair[rows, k]
    r = int(np.argmax(value))
    return int(value[r]), float(slopes[r]), float((q0[r] + k[r] + 1) * FIT_TOL)


def _hough_row_by_row(
    yf: np.ndarray, dx: np.ndarray, slopes: np.ndarray
) -> tuple[int, float, float]:
    """(count, slope, centre) of the two-bin offset window with the most points,
    the first speed that reaches it."""
    best = (-1, 0.0, 0.0)  # (count, slope, centre)
    for s in slopes:  # one row at a time: a chain's matches can be tens of thousands
        c = yf - np.float32(s) * dx
        q = np.floor(c / FIT_TOL).astype(np.int64)
        q0 = int(q.min())
        counts = np.bincount(q - q0)
        # a window two bins wide, so a line on a bin edge is not split in half
        pair = counts[:-1] + counts[1:] if len(counts) > 1 else counts
        k = int(np.argmax(pair))
        if pair[k] > best[0]:
            best = (int(pair[k]), float(s), float((q0 + k + 1) * FIT_TOL))
    return best


def _dense_edges(times: np.ndarray, need: int = 3, within_s: float = 4.0) -> tuple[int, int]:
    """First and last inlier that have ``need`` more inliers within ``within_s``."""
    span = int(within_s / fp.FRAME_S)
    # Distinct anchors: one anchor's several triplets are one piece of evidence.
    times = np.unique(times)
    if len(times) <= need:
        return int(times[0]), int(times[-1])
    ahead = times[need:] - times[:-need] <= span
    first = int(np.argmax(ahead)) if ahead.any() else 0
    last = len(times) - 1 - (int(np.argmax(ahead[::-1])) if ahead.any() else 0)
    return int(times[first]), int(times[last])


# Inliers before the first dense run (and after the last), each within a gap
# of the next, still mark the track: a fade-in or a low-pass opening makes a
# track's first seconds sparse (an inlier every few seconds), and the start is
# where it comes in. The gap is at most REACH_GAP_S, and short enough that a
# chance inlier (at the rate the track's matches beside the line give) falls
# into it with probability at most REACH_CHANCE: a big library gives each track
# few chance matches and the full reach, a small one many and little.
REACH_GAP_S = 8.0
REACH_CHANCE = 0.2


def _reach_out(times: np.ndarray, start: int, end: int, gap: int) -> tuple[int, int]:
    """Move the dense edges out over inliers no more than ``gap`` frames apart."""
    i = int(np.searchsorted(times, start))
    while i > 0 and times[i] - times[i - 1] <= gap:
        i -= 1
    j = int(np.searchsorted(times, end, side="right")) - 1
    while j < len(times) - 1 and times[j + 1] - times[j] <= gap:
        j += 1
    return int(times[i]), int(times[j])


# A track faded in is heard in the mix well before its fingerprints are: a
# triplet needs three of the track's peaks to stand out of the other track's,
# so its matches thin out to nothing early in a fade (measured on club sweeps:
# a tenth of the full rate at 20 % of the fade, half at 40 %; none before the
# first inlier, at any distance from the line). The first inlier is therefore
# late. The rate rising through the fade is modelled instead: zero before the
# start, then a linear ramp over D seconds (0 <= D <= RAMP_MAX_S; D = 0 is a
# cut or a double drop) up to the play's level, over the first RAMP_WINDOW_S
# of the play, with the inliers' anchors as a Poisson process. The start is
# the posterior median over (start, D): a single best fit (maximum
# likelihood) almost always prefers a step at the first anchor, as a change
# point fitted to the data always sits on its first event, and stays late.
# Cuts and fades are a priori equally likely (RAMP_STEP_PRIOR); with a flat
# prior over D instead, starts of cuts came ~1 s early.
RAMP_MAX_S = 16.0
RAMP_WINDOW_S = 30.0
RAMP_STEP_S = 0.25
RAMP_STEP_PRIOR = 0.5


def _ramp_exposure(after: np.ndarray, ramp: np.ndarray) -> np.ndarray:
    """Seconds of full level that ``min(1, t / ramp)`` adds up to over ``after``
    seconds (a ramp of 0 is a cut)."""
    exposure: np.ndarray = np.where(
        after >= ramp, after - ramp / 2, after**2 / (2 * np.maximum(ramp, 1e-9))
    )
    return exposure


def _posterior_median(value: np.ndarray, ll: np.ndarray, ramp: np.ndarray) -> float:
    """Posterior median of ``value`` over a grid of (start, ramp) models with log
    likelihoods ``ll``, cuts (ramp 0) and ramps equally likely a priori."""
    cut = ramp == 0
    prior = np.where(cut, RAMP_STEP_PRIOR / cut.sum(), (1 - RAMP_STEP_PRIOR) / (~cut).sum())
    w = np.exp(ll - ll.max()) * prior
    order = np.argsort(value, kind="stable")
    k = int(np.searchsorted(np.cumsum(w[order]), 0.5 * w.sum()))
    return float(value[order][min(k, len(order) - 1)])


def _start_at_ramp(play: LocalPlay) -> None:
    """Move ``play``'s start to where its inliers' rate begins to rise."""
    a = np.unique(play.anchors).astype(np.float64) * fp.FRAME_S
    top = min(play.start_s + RAMP_WINDOW_S, play.end_s)
    a = a[(a >= play.start_s - 1e-6) & (a <= top)]
    n = len(a)
    if n < 3:
        return
    steps = int(RAMP_MAX_S / RAMP_STEP_S) + 1
    length, back = np.meshgrid(
        np.arange(steps) * RAMP_STEP_S, (np.arange(steps) + 0.01) * RAMP_STEP_S, indexing="ij"
    )
    length, back = length.ravel(), back.ravel()
    s0 = a[0] - back
    ramp = np.maximum(length, 1e-9)
    log_g = np.zeros(len(s0))
    # A few hundred (start, ramp) pairs at a time: all ~4,000 against a
    # minute's inliers at once held ~30 MB, a quarter of `cratebot id`'s memory.
    for i in range(0, len(s0), 256):
        rows = slice(i, i + 256)
        g = np.minimum(1.0, (a[None, :] - s0[rows, None]) / ramp[rows, None])
        g[length[rows] == 0] = 1.0
        log_g[rows] = np.log(g).sum(axis=1)
    exposure = _ramp_exposure(top - s0, length)
    # The level is profiled out: n / exposure.
    ll = n * np.log(n / exposure) + log_g - n
    shift = float(a[0] - _posterior_median(back, ll, length)) - play.start_s
    # Not before the track itself begins.
    shift = max(shift, -max(play.ref_start_s, 0.0) / play.speed)
    if shift < 0:
        play.ref_start_s += shift * play.speed
        play.start_s += shift


# Single peaks show a track sooner than its triplets do: on a filter sweep the
# low-pass lets its lowest peaks through seconds before whole triplets survive
# (club mixes: peak hits rise above chance within ~1 s of the true start, the
# triplets' ramp ~3 s later). The start then moves back to the posterior median
# of a change point in the rate of the track's peaks heard along the play's line
# (chance rate before it, as the line moved by a few seconds hears; then a cut,
# or a ramp of up to PEAK_RAMP_MAX_S, up to the level after the triplets'
# start), searched over PEAK_LOOK_BACK_S before it; never later. Measured on
# club mixes against 12.7 hours (4 mixes): median start error 2.54 -> 1.38 s
# (sweeps +2.95 -> +0.9 s late, double drops +0.09 -> -0.7 s); 2 more mixes
# 3.77 -> 1.67 s; plain mixes 0.98 -> 0.61 s. A gate asking a change point
# before the triplets' start to beat one at it by a likelihood margin took the
# double drops' early bias away but kept sweeps ~1 s later, and the posterior's
# mode instead of its median did about the same: left out. A cut whose first
# seconds hold a chance cluster of hits can come up to ~2 s early.
PEAK_LOOK_BACK_S = 12.0
PEAK_LEVEL_S = 6.0  # after the triplets' start: the level the ramp reaches
PEAK_RAMP_MAX_S = 8.0
PEAK_STEP_S = 0.25


def _start_on_peaks(play: LocalPlay, verifier: PeakVerifier) -> None:
    """Move ``play``'s start back to where its peaks begin to be heard."""
    earliest = play.start_s - max(play.ref_start_s, 0.0) / play.speed  # the track's own start
    lo_s = max(play.start_s - PEAK_LOOK_BACK_S, earliest, 0.0)
    hi_s = min(play.start_s + PEAK_LEVEL_S, play.end_s)
    if play.start_s - lo_s < PEAK_STEP_S or hi_s - play.start_s < 2.0:
        return
    icpt = play.ref_start_s / fp.FRAME_S - play.speed * play.start_s / fp.FRAME_S
    on, chance = verifier.hit_times(
        play.code, play.speed, icpt, int(lo_s / fp.FRAME_S), int(hi_s / fp.FRAME_S)
    )
    if not chance:
        return
    t = on * fp.FRAME_S
    span = hi_s - lo_s
    base = max(float(np.mean([len(c) for c in chance])) / span, 0.1)  # chance hits a second
    level = float(np.sum(t >= play.start_s)) / (hi_s - play.start_s) - base
    if level <= base:  # too faint over chance to place a change point
        return
    s0 = np.arange(lo_s, play.start_s + 1e-9, PEAK_STEP_S)
    ramps = np.arange(0.0, PEAK_RAMP_MAX_S + 1e-9, 1.0)
    start, ramp = (g.ravel() for g in np.meshgrid(s0, ramps, indexing="ij"))
    # Intensity base + level * min(1, (t - start) / ramp) after start, base before.
    g = np.clip((t[None, :] - start[:, None]) / np.maximum(ramp, 1e-9)[:, None], 0.0, 1.0)
    g[ramp == 0] = (t[None, :] >= start[ramp == 0, None]).astype(np.float64)
    ll = np.log(base + level * g).sum(axis=1)
    ll -= base * span + level * _ramp_exposure(hi_s - start, ramp)
    new_start = float(_posterior_median(start, ll, ramp))
    if new_start < play.start_s:
        shift = new_start - play.start_s
        play.ref_start_s += shift * play.speed
        play.start_s = new_start


def _fewest(verifier: PeakVerifier | None) -> int:
    """Fewest inliers a line needs to be looked at."""
    fewest = min(MIN_INLIERS, FEW_INLIERS)
    return min(fewest, VERIFY_INLIERS) if verifier is not None else fewest


def _sort_canonically(m: Matches) -> None:
    """Sort ``m`` in place by track, mix time, reference time and pitch: the plays
    found then do not depend on the order the matches came in (lookups on
    threads hand them over in key order, a share of the index at a time).

    Stable sorts of composite keys, each applied a field at a time: faster than
    ``np.lexsort`` of the fields, and with no more memory where the three fit in
    one key (this is where a 60-minute identification's memory peaks); the
    rare matches equal in all three are then put in pitch order on their own.
    """
    if len(m.qt) == 0:
        return
    q_bits = max(int(m.qt.max()), 1).bit_length()
    r_bits = max(int(m.rt.max()), 1).bit_length()
    t_bits = max(int(m.track.max()), 1).bit_length()
    negative = min(int(m.qt.min()), int(m.rt.min()), int(m.track.min())) < 0
    if negative or t_bits + q_bits > 62:  # no composite key holds them
        _permute(m, np.lexsort((_bits(m.pitch), m.rt, m.qt, m.track)))
        return
    if t_bits + q_bits + r_bits <= 62:
        key = (m.track.astype(np.int64) << (q_bits + r_bits)) | (m.qt.astype(np.int64) << r_bits)
        key |= m.rt
        order = np.argsort(key, kind="stable")
        del key
        _permute(m, order)
        del order
        _pitch_order_of_equals(m)
        return
    tie = (m.rt.astype(np.int64) << 16) | _bits(m.pitch)
    order = np.argsort(tie, kind="stable")
    del tie
    _permute(m, order)
    key = (m.track.astype(np.int64) << q_bits) | m.qt
    order = np.argsort(key, kind="stable")
    del key
    _permute(m, order)


def _bits(pitch: np.ndarray) -> np.ndarray:
    bits: np.ndarray = pitch.astype(np.float16).view(np.uint16)
    return bits


def _pitch_order_of_equals(m: Matches) -> None:
    """Within runs of matches equal in track, mix time and reference time (sorted
    so), put them in order of pitch."""
    same = np.zeros(len(m.qt), dtype=bool)  # as the match before it
    same[1:] = (m.track[1:] == m.track[:-1]) & (m.qt[1:] == m.qt[:-1]) & (m.rt[1:] == m.rt[:-1])
    rows = np.flatnonzero(same | np.append(same[1:], False))
    if len(rows) == 0:
        return
    run = np.cumsum(~same[rows])
    sub = np.lexsort((_bits(m.pitch[rows]), run))
    m.pitch[rows] = m.pitch[rows][sub]


def _permute(m: Matches, order: np.ndarray) -> None:
    for name in ("track", "qt", "rt", "pitch"):
        setattr(m, name, getattr(m, name)[order])


def find_plays(
    m: Matches, verifier: PeakVerifier | None = None, seed_min: int = SEED_MIN
) -> list[LocalPlay]:
    """Every play in the matches, in mix order.

    Seeds are found for runs of tracks (``SEED_CHUNK`` matches), plays one
    track at a time, so that temporary arrays stay small, not the whole mix's.
    Sorts ``m`` by track and mix time in place.
    ``verifier`` (``StreamingMatcher.verifier``) gives lines the triplets leave
    in doubt a second look on single peaks. ``seed_min``: the matcher's
    (``StreamingMatcher.seed_min``), which its pruning kept matches for.
    """
    plays: list[LocalPlay] = []
    # Sorted in place (by track, then mix time), one field at a time, so a long
    # mix's matches exist once.
    _sort_canonically(m)
    edges = np.concatenate([[0], np.flatnonzero(np.diff(m.track)) + 1, [len(m.track)]])
    leftovers: list[_Leftover] = []
    for first, last in _track_chunks(edges, SEED_CHUNK):
        seeds, at = _seeds(m, edges[first : last + 1], seed_min)
        for i in range(first, last):
            lo, n = int(edges[i]), int(edges[i + 1] - edges[i])
            mine_seeds = seeds[at[i - first] : at[i - first + 1]]
            if n < _fewest(verifier) or len(mine_seeds) == 0:
                continue
            mine = Matches(
                m.track[lo : lo + n], m.qt[lo : lo + n], m.rt[lo : lo + n], m.pitch[lo : lo + n]
            )
            # Only tracks with stored peaks can have a light chain confirmed.
            known = verifier is not None and verifier.knows(int(mine.track[0]))
            plays += _plays_of_track(mine, mine_seeds, verifier, leftovers if known else None)
    if verifier is not None and leftovers:
        minutes = max(float(m.qt.max()) * fp.FRAME_S / 60.0, 1.0)
        plays += _light_plays(
            leftovers,
            verifier,
            int(VERIFY_PER_MINUTE * minutes),
            int(LIGHT_FITS_PER_MINUTE * minutes),
        )
    plays.sort(key=lambda p: p.start_s)
    kept = _drop_shadowed(plays, verifier)
    for play in kept:
        _start_at_ramp(play)
        if verifier is not None:
            _start_on_peaks(play, verifier)
    kept.sort(key=lambda p: p.start_s)
    return kept


# Share of a play's inlier anchors that a stronger play's inliers also hold
# above which the two are one recording (the same piece in two files: a game's
# theme and its reprise, a song and its B mix). Two tracks of a double drop give
# their own peaks: measured on club and plain mixes they share 0-5 % of
# anchors, copies of one piece 24-95 %.
SAME_AUDIO_SHARE = 0.25


def _same_audio(play: LocalPlay, stronger: LocalPlay) -> bool:
    if len(play.anchors) == 0:
        return False
    shared = len(np.intersect1d(play.anchors, stronger.anchors, assume_unique=True))
    return shared >= SAME_AUDIO_SHARE * len(play.anchors)


# A play is the same recording as a stronger play it overlaps when at least
# this share of the mix peaks it explains there the stronger one explains too
# (two loops of one game built on the same bars; a song and its B mix, which
# share only 24 % of their triplet anchors). A double drop's second track
# explains its own peaks: only its chance hits fall on the other track's,
# measured ~0.1. Needs stored peaks (verify.py); without them, anchors decide.
PEAK_SAME_SHARE = 0.4


def _same_peaks(play: LocalPlay, stronger: LocalPlay, verifier: PeakVerifier) -> bool:
    lo = max(play.start_s, stronger.start_s) / fp.FRAME_S
    hi = min(play.end_s, stronger.end_s) / fp.FRAME_S
    mine = verifier.heard(play.code, *_line(play), int(lo), int(hi) + 1)
    if len(mine) == 0:
        return False
    theirs = verifier.heard(stronger.code, *_line(stronger), int(lo), int(hi) + 1)
    return len(np.intersect1d(mine, theirs)) >= PEAK_SAME_SHARE * len(mine)


def _overlap(a: LocalPlay, b: LocalPlay) -> float:
    """Seconds two plays overlap (negative: the gap between them)."""
    return min(a.end_s, b.end_s) - max(a.start_s, b.start_s)


def _line(play: LocalPlay) -> tuple[float, float]:
    """``(slope, icpt)`` of ``rt = slope * qt + icpt`` in frames."""
    start = play.start_s / fp.FRAME_S
    return play.speed, play.ref_start_s / fp.FRAME_S - play.speed * start


def _drop_shadowed(plays: list[LocalPlay], verifier: PeakVerifier | None = None) -> list[LocalPlay]:
    """Drop a play mostly covered by a stronger one (duplicate files, samples, echoes)."""
    kept: list[LocalPlay] = []
    for play in sorted(plays, key=lambda p: -p.inliers):
        length = max(play.end_s - play.start_s, 1e-6)
        # A stronger play of the same track over it: its echo or a repeat inside
        # the track, dropped silently (not another track's alternative).
        if any(
            (other.source, other.track_id) == (play.source, play.track_id)
            and _overlap(play, other) > 0.3 * length
            for other in kept
        ):
            continue
        for other in kept:
            overlap = _overlap(play, other)
            # Under a much stronger play, only a clearly significant one is
            # another track (a double drop); a marginal one is its echo or a
            # shared sample.
            if (
                overlap > 0.6 * length
                and other.inliers >= 2 * play.inliers
                and play.significance < 2 * SIGNIFICANCE
            ) or (
                overlap > 0.3 * length
                and (
                    _same_audio(play, other)
                    or verifier is not None
                    and _same_peaks(play, other, verifier)
                )
            ):
                other.alternatives.append(play)
                break
        else:
            kept.append(play)
    kept.sort(key=lambda p: p.start_s)
    return kept
