"""The seed sketch's loops, compiled: for the pruner against a big index.

Against 1000 hours a window of mix holds over a million chance matches, and
the numpy sketch (``prune._may_seed``) made a dozen passes over them and a
table of their size, after concatenating the window's pieces (~1.4 s of the
caller's thread per 5 minutes of mix, beside lookups that need both cores).
Here each piece is counted into its window's table as it arrives, and once the
window is complete one pass per piece reads the five counts around each
match's slot. Same sketch, so the same guarantee: hash collisions only add to
a count, no bin that scores is missed, and the exact count after it finds the
same seeds. Imported only against a big index, like ``gate_kernel``.
"""

from __future__ import annotations

import numba
import numpy as np

from core.identify import matching as mt
from core.identify.prune import B_BITS

_GOLDEN32 = 0x9E3779B1
_BIN = mt.OFFSET_BIN
_BIN_ZERO = 1 << (B_BITS - 1)


@numba.njit(nogil=True, cache=True, inline="always")
def _slot(track: int, qt: int, rt: int, base: int, shift: int, mask: int) -> int:
    # pragma: no cover - compiled
    # The track's Fibonacci hash plus its offset bin: neighbouring bins are
    # neighbouring slots (the table wraps round).
    ob = (rt - qt - base) // _BIN + _BIN_ZERO
    return (((track * _GOLDEN32) & 0xFFFFFFFF) >> shift) + ob & mask


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
    mask = (1 << bits) - 1
    shift = 32 - bits
    for k in range(track.shape[0]):
        s = _slot(int(track[k]), int(qt[k]), int(rt[k]), base, shift, mask)
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
    shift = 32 - bits
    out = np.empty(track.shape[0], np.int64)
    n = 0
    for k in range(track.shape[0]):
        s = _slot(int(track[k]), int(qt[k]), int(rt[k]), base, shift, mask)
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
