"""The pruner's loops, compiled: for the pruner against a big index.

Against 1000 hours a window of mix holds over a million chance matches, and
the numpy sketch (``prune._may_seed``) made a dozen passes over them and a
table of their size, after concatenating the window's pieces (~1.4 s of the
caller's thread per 5 minutes of mix, beside lookups that need both cores).
Here each piece is counted into its window's table as it arrives, and once the
window is complete one pass per piece reads the five counts around each
match's slot. Same sketch, so the same guarantee: hash collisions only add to
a count, no bin that scores is missed, and the exact count after it finds the
same seeds. Deciding which matches are near a seed was a binary search of
every match among the window's seed intervals (~23 ns a match against a
real 1000-hour library, whose windows have thousands of seeds); here a hash
table of the seeds' tracks leads each match to its own track's few
intervals. Imported only against a big index, like ``gate_kernel``.
"""

from __future__ import annotations

import numba
import numpy as np

from core.identify import matching as mt
from core.identify.prune import B_BITS, OFF_BITS, OFF_MAX, OFF_ZERO

_GOLDEN32 = 0x9E3779B1
_BIN = mt.OFFSET_BIN
_BIN_ZERO = 1 << (B_BITS - 1)


@numba.njit(nogil=True, cache=True, inline="always")
def _track_slot(track: int, bits: int) -> int:  # pragma: no cover - compiled
    # Fibonacci hashing of a track code to ``bits`` bits, in 32 (as prune._may_seed).
    return ((track * _GOLDEN32) & 0xFFFFFFFF) >> (32 - bits)


@numba.njit(nogil=True, cache=True, inline="always")
def _slot(track: int, qt: int, rt: int, base: int, bits: int) -> int:
    # pragma: no cover - compiled
    # The track's hash plus its offset bin: neighbouring bins are neighbouring
    # slots (the table wraps round).
    ob = (rt - qt - base) // _BIN + _BIN_ZERO
    return (_track_slot(track, bits) + ob) & ((1 << bits) - 1)


@numba.njit(nogil=True, cache=True)
def sketch_add(
    counts: np.ndarray,
    bits: int,
    track: np.ndarray,
    qt: np.ndarray,
    rt: np.ndarray,
    base: int,
) -> None:  # pragma: no cover - compiled; tests compare with the exact count
    """Count one window's matches (held fields; ``base``: the window's first
    frame) into its table ``counts`` (uint8, ``1 << bits`` long), saturating
    at 255: seeds need far fewer."""
    for k in range(track.shape[0]):
        s = _slot(int(track[k]), int(qt[k]), int(rt[k]), base, bits)
        if counts[s] < 255:
            counts[s] += 1


@numba.njit(nogil=True, cache=True)
def sketch_candidates(
    counts: np.ndarray,
    bits: int,
    track: np.ndarray,
    qt: np.ndarray,
    rt: np.ndarray,
    base: int,
    seed_min: int,
) -> np.ndarray:  # pragma: no cover - compiled; tests compare with the exact count
    """Positions of the matches whose bin or a neighbour could score
    ``seed_min`` (itself and both its neighbours) by the window's complete
    table."""
    mask = (1 << bits) - 1
    out = np.empty(track.shape[0], np.int64)
    n = 0
    for k in range(track.shape[0]):
        s = _slot(int(track[k]), int(qt[k]), int(rt[k]), base, bits)
        c0 = int(counts[(s - 2) & mask])
        c1 = int(counts[(s - 1) & mask])
        c2 = int(counts[s])
        c3 = int(counts[(s + 1) & mask])
        c4 = int(counts[(s + 2) & mask])
        best = max(c0 + c1 + c2, c1 + c2 + c3, c2 + c3 + c4)
        if best >= seed_min:
            out[n] = k
            n += 1
    return out[:n]


@numba.njit(nogil=True, cache=True)
def reach_table(starts: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # pragma: no cover - compiled; tests compare near_mask with prune._near_seeds
    """A hash table (``1 << bits`` slots, open addressing) of the tracks of merged
    seed intervals (``starts``: ascending (track, offset) codes, a track's
    together): ``(track or -1, its first interval, how many)`` by slot."""
    size = 1 << bits
    keys = np.full(size, -1, np.int64)
    first = np.zeros(size, np.int64)
    count = np.zeros(size, np.int64)
    i = 0
    n = starts.shape[0]
    while i < n:
        track = starts[i] >> OFF_BITS
        j = i + 1
        while j < n and starts[j] >> OFF_BITS == track:
            j += 1
        h = _track_slot(track, bits)
        while keys[h] >= 0:
            h = (h + 1) & (size - 1)
        keys[h] = track
        first[h] = i
        count[h] = j - i
        i = j
    return keys, first, count


@numba.njit(nogil=True, cache=True)
def near_mask(
    track: np.ndarray,
    qt: np.ndarray,
    rt: np.ndarray,
    base: int,
    keys: np.ndarray,
    first: np.ndarray,
    count: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    bits: int,
) -> np.ndarray:  # pragma: no cover - compiled; tests compare with prune._near_seeds
    """Mask of one window's matches (held fields, ``base`` its first frame)
    within a merged seed interval of their own track (``reach_table``'s)."""
    size_mask = (1 << bits) - 1
    keep = np.zeros(track.shape[0], np.bool_)
    for k in range(track.shape[0]):
        t = int(track[k])
        h = _track_slot(t, bits)
        while keys[h] != t and keys[h] >= 0:
            h = (h + 1) & size_mask
        if keys[h] != t:
            continue
        off = min(max(int(rt[k]) - int(qt[k]) - base + OFF_ZERO, 0), OFF_MAX)
        x = (t << OFF_BITS) | off
        # The last interval of the track starting at or before x.
        lo = first[h]
        hi = lo + count[h]
        while lo < hi:
            mid = (lo + hi) >> 1
            if starts[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        if lo > first[h] and x <= ends[lo - 1]:
            keep[k] = True
    return keep
