"""Drop chance matches no play can use, while the mix streams, so memory stays bounded.

Against a 1000-hour library every query triplet meets hundreds of chance
entries, and a few dozen of them pass the speed and pitch gates: tens of
millions of matches for a one-hour mix, spread thin over tens of thousands of
tracks. ``matching.find_plays`` only ever uses a match near a *seed* (a track
and 10-second window where at least ``seed_min`` matches share an offset bin,
neighbours included): seeds chain across at most ``CHAIN_GAP_WINDOWS`` windows,
a fit extends ``EXTEND_FRAMES`` beyond its chain, and a play's background is
counted within ``BACKGROUND_BAND`` frames of its line, whose offset drifts by
at most ``SPEED_RANGE`` over that span. Matches farther than all of that from
every seed of their track are dropped as soon as the windows around them are
complete; a match ``find_plays`` could use is never dropped, so the plays found
are the same (tests compare). The reaches below are derived from
``matching``'s constants, with margin, so they follow when those are tuned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from core.identify import matching as mt

# Windows either side of a seed whose matches a play may use.
WINDOW_REACH = mt.CHAIN_GAP_WINDOWS + -(-mt.EXTEND_FRAMES // mt.WINDOW_FRAMES) + 1
# Frames of offset (reference minus mix time) either side of a seed's bin.
OFFSET_REACH = int(
    mt.BACKGROUND_BAND
    + mt.FIT_TOL
    + 4 * mt.OFFSET_BIN
    + max(abs(1 - mt.SPEED_RANGE[0]), abs(mt.SPEED_RANGE[1] - 1))
    * (WINDOW_REACH + 1)
    * mt.WINDOW_FRAMES
)
# Bits of a window's match's (track, offset bin) code: a track code is the track
# id (< 2**28) and its index's position (< 8); offset bins are within ±2**16
# (reference tracks are under 2**20 frames, mixes under 11 hours).
# (seed_kernel reads B_BITS and the OFF_ constants too)
_T_BITS, B_BITS = 31, 17
OFF_BITS = 24  # offsets in frames, in a (track, offset) code
OFF_ZERO = 1 << (OFF_BITS - 1)  # offset 0's place in it
OFF_MAX = (1 << OFF_BITS) - 1  # offsets are clipped to 0..OFF_MAX there


# A held track code: the index's position above the track id's bits (gate_kernel too).
CODE_ID_BITS = 28


def _track_codes(track: np.ndarray) -> np.ndarray:
    """Matches' track codes (``source << 32 | id``) squeezed into ``_T_BITS`` bits."""
    t = track.astype(np.int64, copy=False)
    if len(t) and int(t.max()) < 1 << CODE_ID_BITS:  # the first index's: as they are
        return t
    return ((t >> 32) << CODE_ID_BITS) | (t & ((1 << CODE_ID_BITS) - 1))


def _untrack(code: np.ndarray) -> np.ndarray:
    return ((code >> CODE_ID_BITS) << 32) | (code & ((1 << CODE_ID_BITS) - 1))


# Above this many matches, a counting sketch (``_may_seed``) and a hashed set (``_near_seeds``)
# first set aside those that cannot matter, so the exact sorts and searches
# below see a few per cent of a big library's chance matches.
SKETCH_MIN = 1 << 15
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_GOLDEN32 = np.uint32(0x9E3779B1)


def _slots(group: np.ndarray, bits: int) -> np.ndarray:
    """Fibonacci hashing of ``group`` codes to ``bits``-bit table slots."""
    h = (group.astype(np.uint64) * _GOLDEN) >> np.uint64(64 - bits)
    return h.astype(np.intp)


def _may_seed(track: np.ndarray, ob: np.ndarray, seed_min: int) -> np.ndarray:
    """Mask of one window's matches (uint32 track codes, offset bins) whose bin or
    a neighbour could score ``seed_min``, by a counting sketch (``_sketch``)."""
    bits = max(int(len(track)).bit_length(), 16)
    # Fibonacci hashing of the track code, in 32 bits (wrapping on purpose).
    slot = (track.astype(np.uint32, copy=False) * _GOLDEN32) >> np.uint32(32 - bits)
    np.add(slot, ob, out=slot, casting="unsafe")  # offset bins are positive
    return _sketch(slot.astype(np.intp), bits, seed_min)


def _sketch(slot: np.ndarray, bits: int, seed_min: int) -> np.ndarray:
    """Mask of the matches whose bin or a neighbour could score ``seed_min``, from
    each match's table slot: its track hashed plus its offset bin, so that
    neighbouring bins are neighbouring slots (the table wraps round). Hash
    collisions only add to a count, so no bin that scores is missed and the
    exact count after it finds the same seeds."""
    size = 1 << bits
    slot &= size - 1
    # Small integers: these tables were the largest temporaries of a lookup against
    # a big library (~400 MB for a window of a real 1000-hour one). A count that
    # saturates at 255 still tells whether a bin reaches seed_min (at most 64).
    wide = np.bincount(slot, minlength=size)
    counts = np.clip(wide, 0, 255, out=wide).astype(np.uint8)
    del wide
    # score of a slot's bin (itself and both neighbours, the table wrapping
    # round), then the best score a match's own bin or a neighbour can have
    score = counts.astype(np.uint16)
    score[1:] += counts[:-1]
    score[0] += counts[-1]
    score[:-1] += counts[1:]
    score[-1] += counts[0]
    del counts
    best = score.copy()
    np.maximum(best[1:], score[:-1], out=best[1:])
    best[0] = max(best[0], score[-1])
    np.maximum(best[:-1], score[1:], out=best[:-1])
    best[-1] = max(best[-1], score[0])
    keep: np.ndarray = best[slot] >= seed_min
    return keep


def _offset_bins(held: Held, at: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Offset bins (from ``2 ** (B_BITS - 1)``) of a window's matches ``at``."""
    # 4-byte fields: a big library's window holds over a million chance matches.
    ob = held.rt[at] - held.qt[at].astype(np.int32)
    ob -= held.window * mt.WINDOW_FRAMES
    np.floor_divide(ob, mt.OFFSET_BIN, out=ob)
    ob += 1 << (B_BITS - 1)
    return ob


def _seed_bins(held: Held, seed_min: int) -> np.ndarray:
    """Rows (track code, window, offset bin) of one window's matches where a seed can
    be: ``seed_min`` matches or more in the bin and its two neighbours
    (``find_plays`` also asks for a peak)."""
    if len(held) == 0:
        return np.zeros((0, 3), np.int64)
    ob = _offset_bins(held)
    track = held.track
    if len(ob) > SKETCH_MIN:
        keep = np.flatnonzero(_may_seed(track, ob, seed_min))
        track, ob = track[keep], ob[keep]
    return _scoring_bins(track, ob, held.window, seed_min)


def _scoring_bins(track: np.ndarray, ob: np.ndarray, window: int, seed_min: int) -> np.ndarray:
    """``_seed_bins`` of matches (track codes, offset bins) of one window, exactly."""
    # One window: the code needs only the track and the offset bin.
    code = (track.astype(np.int64) << B_BITS) | ob
    # One sort; a bin's neighbours are then next to it in ``uniq``.
    uniq, counts = np.unique(code, return_counts=True)
    del code
    score = counts.copy()
    score[1:] += np.where(uniq[:-1] == uniq[1:] - 1, counts[:-1], 0)
    score[:-1] += np.where(uniq[1:] == uniq[:-1] + 1, counts[1:], 0)
    u = uniq[score >= seed_min]
    return np.stack(
        [
            u >> B_BITS,
            np.full(len(u), window, dtype=np.int64),
            (u & ((1 << B_BITS) - 1)) - (1 << (B_BITS - 1)),
        ],
        axis=1,
    )


def _near_seeds(held: Held, seeds: np.ndarray) -> np.ndarray:
    """Mask of one window's matches within reach of a seed of their own track
    (``seeds``: rows of track code, window, offset bin)."""
    keep = np.zeros(len(held), dtype=bool)
    reach = _seed_reach(seeds, held.window)
    if len(held) == 0 or reach is None:
        return keep
    starts, ends = reach
    # First a hashed set of the seeds' tracks, where a collision can only let
    # a match through to the exact test: a big library's chance matches are
    # mostly of tracks without a seed.
    if len(held) > SKETCH_MIN:
        bits = max(int(len(starts)).bit_length() + 3, 12)
        table = np.zeros(1 << bits, dtype=bool)
        table[_slots(starts >> OFF_BITS, bits)] = True
        cand = np.flatnonzero(table[_slots(held.track, bits)])
    else:
        cand = np.arange(len(held))
    if len(cand) == 0:
        return keep
    off = held.rt[cand].astype(np.int64) - held.qt[cand] - held.window * mt.WINDOW_FRAMES
    x = (held.track[cand].astype(np.int64) << OFF_BITS) | np.clip(off + OFF_ZERO, 0, OFF_MAX)
    i = np.searchsorted(starts, x, side="right") - 1
    keep[cand] = (i >= 0) & (x <= ends[np.maximum(i, 0)])
    return keep


def _seed_reach(seeds: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray] | None:
    """What the seeds within reach of ``window`` cover: each seed an interval of
    offsets of its track, as composite (track, offset) codes, merged (tracks
    never merge: an interval's ends stay within its track's codes) and in
    order; ``None`` without seeds."""
    seeds = seeds[np.abs(seeds[:, 1] - window) <= WINDOW_REACH]
    if len(seeds) == 0:
        return None
    lo_off = seeds[:, 2] * mt.OFFSET_BIN - OFFSET_REACH + OFF_ZERO
    hi_off = (seeds[:, 2] + 1) * mt.OFFSET_BIN + OFFSET_REACH + OFF_ZERO
    row = seeds[:, 0] << OFF_BITS
    starts = row | np.clip(lo_off, 0, OFF_MAX)
    ends = row | np.clip(hi_off, 0, OFF_MAX)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    first = np.concatenate([[True], starts[1:] > ends[:-1]])
    last = np.concatenate([first[1:], [True]])
    return starts[first], ends[last]


def _compiled_near_seeds(seeds: np.ndarray, window: int) -> Callable[[Held], np.ndarray]:
    """``_near_seeds`` for one window's matches, by compiled loops (``seed_kernel``):
    the seeds' reach is worked out once for all of the window's pieces."""
    from core.identify.seed_kernel import near_mask, reach_table

    reach = _seed_reach(seeds, window)
    if reach is None:
        return lambda held: np.zeros(len(held), dtype=bool)
    starts, ends = reach
    bits = max(int(len(starts)).bit_length() + 1, 4)
    keys, first, count = reach_table(starts, bits)
    base = window * mt.WINDOW_FRAMES

    def near(held: Held) -> np.ndarray:
        mask: np.ndarray = near_mask(
            held.track, held.qt, held.rt, base, keys, first, count, starts, ends, bits
        )
        return mask

    return near


class Held:
    """One window's matches while the pruner holds them, in 12 bytes a match
    instead of 18: a big library's held windows are most of a lookup's memory.
    The seeds are found on these fields as they are (their track code is what
    the seed codes hold), and only the matches kept become ``Matches`` again."""

    def __init__(
        self, window: int, track: np.ndarray, qt: np.ndarray, rt: np.ndarray, pitch: np.ndarray
    ) -> None:
        self.window = window
        self.track = track  # uint32 track codes (``_track_codes``)
        self.qt = qt  # uint16 frames within the window
        self.rt = rt  # int32
        self.pitch = pitch  # float16

    @classmethod
    def concat(cls, parts: list[Held]) -> Held:
        if len(parts) == 1:
            return parts[0]
        return cls(
            parts[0].window,
            *(
                np.concatenate([getattr(h, f) for h in parts])
                for f in ("track", "qt", "rt", "pitch")
            ),
        )

    def __len__(self) -> int:
        return len(self.qt)

    def matches(self, mask: np.ndarray) -> mt.Matches:
        return mt.Matches(
            _untrack(self.track[mask].astype(np.int64)),
            self.qt[mask].astype(np.int32) + self.window * mt.WINDOW_FRAMES,
            self.rt[mask],
            self.pitch[mask],
        )


# A batch of matches spanning more windows than this is split by sorting, not by
# a mask a window (a lookup batch spans one to three).
_MASKED_WINDOWS = 4


def hold(m: mt.Matches) -> list[Held]:
    """``m`` as the pruner holds it: one ``Held`` per window it touches."""
    if len(m) == 0:
        return []
    w = m.qt // mt.WINDOW_FRAMES
    track = _track_codes(m.track).astype(np.uint32)  # < 2**31
    w_lo, w_hi = int(w.min()), int(w.max())
    if w_hi - w_lo >= 1 << 16:
        raise ValueError("a batch of matches spans more than 65536 windows")
    if w_hi - w_lo < _MASKED_WINDOWS:
        groups = [np.flatnonzero(w == window) for window in range(w_lo, w_hi + 1)]
    else:
        # Window numbers from 0 in 16 bits: numpy's stable sort is then a radix sort.
        order = np.argsort((w - w_lo).astype(np.uint16), kind="stable")
        cuts = np.flatnonzero(np.diff(w[order])) + 1
        groups = np.split(order, cuts)
    out = []
    for at in groups:
        if len(at) == 0:
            continue
        window = int(w[at[0]])
        qt = (m.qt[at] - window * mt.WINDOW_FRAMES).astype(np.uint16)
        out.append(Held(window, track[at], qt, m.rt[at].astype(np.int32), m.pitch[at]))
    return out


class SeedPruner:
    """Holds a streaming mix's matches, a 10-second window at a time, until the
    windows around them are complete, then keeps only those within reach of a seed.

    Held: about ``2 * WINDOW_REACH`` windows of matches (each window apart, so
    no step copies all of them at once). ``compiled`` (against a big index):
    each window's seed sketch is counted as its pieces arrive and read by
    compiled loops (``seed_kernel``), and its pieces are never concatenated.
    Pieces may be counted where they are made (``count``, on lookup threads:
    the pruner's own thread was the slower side of a big lookup's pipeline),
    and are then added with ``counted``.
    """

    # A compiled window sketch's table has about a slot a match, from the last
    # evaluated window's count, and at least 2 MB (synthetic 1000 hours: windows
    # of 0.6-2.3 M matches; real music's: 1.1-4.9 M, where 2 MB tables let so
    # many candidates through that their exact sort took 1.4 s per 5 minutes
    # of mix instead of 0.2 s; bigger tables cost more cache misses a match).
    # Tables are reused (fresh memory costs a fault a page).
    SKETCH_BITS = 21  # until a window has been counted
    SKETCH_BITS_RANGE = (21, 23)

    def __init__(self, seed_min: int = mt.SEED_MIN, compiled: bool = False) -> None:
        self.seed_min = seed_min
        self.compiled = compiled
        self._windows: dict[int, list[Held]] = {}
        self._sketches: dict[int, np.ndarray] = {}
        self._spare: dict[int, list[np.ndarray]] = {}  # by size
        self._bits = self.SKETCH_BITS
        # Guards the tables above and _bits against counting threads; a
        # window's own lock, its table while a piece is counted into it.
        self._lock = threading.Lock()
        self._table_locks: dict[int, threading.Lock] = {}
        self._kept: list[mt.Matches] = []
        self._seeds = np.zeros((0, 3), np.int64)  # track code, window, offset bin
        self._evaluated = 0  # seeds known for windows < this
        self.seen = 0

    def add(self, m: mt.Matches, complete_frames: int | None) -> None:
        """Matches of anchors processed so far; every anchor before
        ``complete_frames`` (``None``: the end of the mix) has been looked up."""
        self.add_held(hold(m), complete_frames)

    def add_held(
        self, parts: list[Held], complete_frames: int | None, counted: bool = False
    ) -> None:
        """``add`` for matches already held (``hold``); ``counted``: their
        sketch counts are in already (``count``)."""
        for held in parts:
            self.seen += len(held)
            self._windows.setdefault(held.window, []).append(held)
            if self.compiled and not counted and held.window >= self._evaluated:
                self.count([held])
        if not self._windows:
            return
        last = max(self._windows)
        complete = last + 1 if complete_frames is None else complete_frames // mt.WINDOW_FRAMES
        # New seeds, from windows that are now complete.
        for window in sorted(self._windows):
            if self._evaluated <= window < complete:
                self._seeds = np.concatenate([self._seeds, self._window_seeds(window)])
        self._evaluated = max(self._evaluated, complete)
        # Decided: windows whose every reachable seed window is complete.
        upto = complete if complete_frames is None else complete - WINDOW_REACH
        for window in sorted(self._windows):
            if window >= upto:
                break
            parts = self._windows.pop(window)
            if self.compiled:
                near = _compiled_near_seeds(self._seeds, window)
                self._kept.extend(held.matches(near(held)) for held in parts)
            else:
                self._kept.extend(held.matches(_near_seeds(held, self._seeds)) for held in parts)
        # Seeds older than any undecided window's reach are done with.
        self._seeds = self._seeds[self._seeds[:, 1] >= upto - WINDOW_REACH]

    def count(self, parts: list[Held]) -> None:
        """Count matches into their windows' sketches (compiled; from any thread,
        before ``add_held(..., counted=True)``; their windows not yet complete)."""
        from core.identify.seed_kernel import sketch_add

        for held in parts:
            with self._lock:
                table = self._sketches.get(held.window)
                if table is None:
                    spare = self._spare.get(1 << self._bits)
                    table = spare.pop() if spare else np.empty(1 << self._bits, np.uint8)
                    table.fill(0)
                    self._sketches[held.window] = table
                lock = self._table_locks.setdefault(held.window, threading.Lock())
            bits = len(table).bit_length() - 1
            base = held.window * mt.WINDOW_FRAMES
            with lock:
                sketch_add(table, bits, held.track, held.qt, held.rt, base)

    def _window_seeds(self, window: int) -> np.ndarray:
        parts = self._windows[window]
        if not self.compiled:
            whole = Held.concat(parts)
            self._windows[window] = [whole]
            return _seed_bins(whole, self.seed_min)
        from core.identify.seed_kernel import sketch_candidates

        with self._lock:
            table = self._sketches.pop(window, None)
            self._table_locks.pop(window, None)
        if table is None:  # no matches
            return np.zeros((0, 3), np.int64)
        bits = len(table).bit_length() - 1
        base = window * mt.WINDOW_FRAMES
        tracks, bins = [], []
        for held in parts:
            at = sketch_candidates(table, bits, held.track, held.qt, held.rt, base, self.seed_min)
            tracks.append(held.track[at])
            bins.append(_offset_bins(held, at))
        count = sum(len(held) for held in parts)
        low, high = self.SKETCH_BITS_RANGE
        with self._lock:  # only once read: a counting thread may take it now
            self._spare.setdefault(len(table), []).append(table)
            self._bits = min(max(count.bit_length(), low), high)
        return _scoring_bins(np.concatenate(tracks), np.concatenate(bins), window, self.seed_min)

    def finish(self) -> mt.Matches:
        self.add(mt.Matches.empty(), None)
        kept = mt.Matches.concat(self._kept)
        self._kept = []
        return kept
