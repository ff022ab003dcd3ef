"""The gate table's loop over raw hits, compiled: for lookups against a big index.

Against 1000 hours a 5-minute mix reads ~140 M entries. In numpy each raw hit
costs ~20 passes (expanding its range, gathering the entry, repeating its
triplet, a dozen narrow passes of ``GateTable.passed``, the table read) and
fresh arrays for each; the loop here reads each entry once and writes only
the ~30 % that pass. No library does this fusing for us; numba (a dependency
of librosa already) compiles it. Imported only against a big index
(``FingerprintIndex.is_big``): numba costs ~60 MB of memory and a compile on
first use (then cached on disk), more than a small library's whole lookup.
``GateTable`` fills the table from the gates themselves and tests compare this
loop with its numpy twin (``GateTable.passed``); against a big index the table
itself is built here too (``gate_table``, the gate restated as a loop, compared
with the numpy table cell by cell).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from core.identify.index import DT13_BITS, F1_BITS, T1_BITS
from core.identify.lookup import GateTable
from core.identify.prune import CODE_ID_BITS

# The table's layout (GateTable's: a row of slots by columns, ends never pass).
_ROW_BITS = GateTable.ROW_BITS
_COLS_BITS = GateTable.COL_BITS
_LAST_COL = (1 << GateTable.COL_BITS) - 1
_LAST_SLOT = (1 << (GateTable.ROW_BITS - GateTable.COL_BITS)) - 1
# A packed value's fields (index.pack_values).
_F1_MASK = (1 << F1_BITS) - 1
_T1_SHIFT = F1_BITS + DT13_BITS
_T1_MASK = (1 << T1_BITS) - 1
_TRACK_SHIFT = _T1_SHIFT + T1_BITS
_SOURCE_SHIFT = CODE_ID_BITS


@numba.njit(nogil=True, cache=True)
def gate_ranges(
    vals: np.ndarray,
    first: np.ndarray,
    counts: np.ndarray,
    owners: np.ndarray,
    table: np.ndarray,
    edge: np.ndarray,
    dbase: np.ndarray,
    live: np.ndarray,
    out_q: np.ndarray,
    out_v: np.ndarray,
) -> int:  # pragma: no cover - compiled; tests run it and compare with numpy
    """Entries ``vals[first[i]:first[i] + counts[i]]`` of query triplet ``owners[i]``
    that pass the table and whose track is live (``live[track id]``; an empty
    ``live``: every track is): their triplets and values go to ``out_q`` /
    ``out_v`` (as long as all the ranges); returns how many."""
    n = 0
    some = live.shape[0] > 0
    passes = table.view(np.uint8)
    for i in range(first.shape[0]):
        q = owners[i]
        row = int(q) << _ROW_BITS
        e = int(edge[q])
        b = int(dbase[q])
        # A range as its own slice: numba compiles the loop over it twice as fast.
        entries = vals[first[i] : first[i] + counts[i]]
        for j in range(entries.shape[0]):
            v = entries[j]
            low = int(v) & 0xFFFF
            col = min(max((low & _F1_MASK) - e, 0), _LAST_COL)
            slot = min(max((low >> F1_BITS) - b, 0), _LAST_SLOT)
            ok = passes[row + (slot << _COLS_BITS) + col]
            if some:
                track = int(v >> np.uint64(_TRACK_SHIFT))
                ok &= track < live.shape[0] and live[track]
            # Written whatever the gate says and kept by counting: a branch on
            # a third of the entries passing cost more than the stores.
            out_q[n] = q
            out_v[n] = v
            n += ok
    return n


@numba.njit(nogil=True, cache=True)
def held_fields(
    q: np.ndarray,
    v: np.ndarray,
    tr_window: np.ndarray,
    tr_qt: np.ndarray,
    edge: np.ndarray,
    pitches: np.ndarray,
    source: int,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # pragma: no cover - compiled; tests run it and compare with prune.hold
    """Passing hits (query triplet, packed value) as the pruner holds them
    (``prune.hold``), window by window in the order they came: ``(first window,
    where each window starts, track codes, mix frames within the window,
    reference frames, pitch shifts)``; window ``first + i`` is
    ``starts[i]:starts[i + 1]``. Each triplet's window and frame within it
    are ``tr_window`` / ``tr_qt``; its pitch shift against each gate table
    column (``edge``: its first column's anchor bin) is in ``pitches``, float16
    bits as numpy converts them, and so are the pitch shifts returned."""
    n = q.shape[0]
    w_lo = 1 << 62
    w_hi = -1
    for k in range(n):
        w = tr_window[q[k]]
        w_lo = min(w_lo, w)
        w_hi = max(w_hi, w)
    if n == 0:
        w_lo, w_hi = 0, -1
    starts = np.zeros(w_hi - w_lo + 2, np.int64)
    for k in range(n):
        starts[tr_window[q[k]] - w_lo + 1] += 1
    for i in range(1, starts.shape[0]):
        starts[i] += starts[i - 1]
    at = starts[:-1].copy()
    track = np.empty(n, np.uint32)
    qt = np.empty(n, np.uint16)
    rt = np.empty(n, np.int32)
    pitch = np.empty(n, np.uint16)
    for k in range(n):
        t = q[k]
        i = tr_window[t] - w_lo
        p = at[i]
        at[i] += 1
        val = v[k]
        track[p] = (source << _SOURCE_SHIFT) | int(val >> np.uint64(_TRACK_SHIFT))
        qt[p] = tr_qt[t]
        rt[p] = int(val >> np.uint64(_T1_SHIFT)) & _T1_MASK
        # Gated hits lie within their row's inner columns; clipped all the same.
        col = min(max((int(val) & _F1_MASK) - int(edge[t]), 0), _LAST_COL)
        pitch[p] = pitches[(int(t) << _COLS_BITS) + col]
    return w_lo, starts, track, qt, rt, pitch


@numba.njit(nogil=True, cache=True)
def gate_table(
    f1: np.ndarray,
    dt13: np.ndarray,
    edge: np.ndarray,
    dlo: np.ndarray,
    dhi: np.ndarray,
    dbase: np.ndarray,
    log_bins: np.ndarray,
    f1_shift: np.floating[Any],
    keylock_tol: np.floating[Any],
    vinyl_tol: float,
    vinyl_tol_frames: float,
) -> np.ndarray:  # pragma: no cover - compiled; tests compare every cell with GateTable's
    """``GateTable._build``'s table, cell by cell: ``fp.pitch_gate`` of each
    (triplet, stored ``t3 - t1``, anchor column) the speed gate lets through.

    The gate restated as a loop (numpy's ~400 evaluations a triplet were ~35 ms
    a lookup of 6,000 triplets against a big index, with the other lookup thread
    waiting for the table). The comparisons are made in the types numpy makes
    them in, which the caller passes the constants as (``f1_shift`` and
    ``keylock_tol`` in the dtype numpy compares a float32 pitch with them).
    """
    n = f1.shape[0]
    table = np.zeros(n << _ROW_BITS, np.bool_)
    for q in range(n):
        qdt = max(int(dt13[q]), 1)
        tol = vinyl_tol + vinyl_tol_frames / qdt
        e = int(edge[q])
        f = f1[q]
        for rdt in range(int(dlo[q]), int(dhi[q]) + 1):
            vinyl = log_bins[rdt] - log_bins[qdt]
            at = (q << _ROW_BITS) | ((rdt - int(dbase[q])) << _COLS_BITS)
            for rel in range(1, _LAST_COL):
                rf1q = e + rel
                if rf1q < 0 or rf1q > _F1_MASK:
                    continue
                pitch = f - np.float32(rf1q) / np.float32(4.0)
                size = abs(pitch)
                if size <= f1_shift and (size <= keylock_tol or abs(pitch - vinyl) <= tol):
                    table[at | rel] = True
    return table
