"""From a streaming mix's triplets to gated matches: lookups, gates and pruning.

``StreamingMatcher`` takes the mix's peaks as they decode, forms query triplets a
batch at a time, looks them up (``lookup_triplets``: every key range a matching
reference triplet can lie in, ``fp.query_ranges``), keeps the matches whose speed
and pitch are plausible (``GateTable``) and hands them to the pruner
(``prune.py``), which drops those no play can use. ``matching.find_plays`` then
turns what is left into plays.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from core.identify import fingerprint as fp
from core.identify import matching as mt
from core.identify.index import (
    F1_BITS,
    FingerprintIndex,
    Unpacked,
    anchor_values,
    expand_ranges,
    unpack_values,
)
from core.identify.matching import SOURCE_SHIFT, Matches, seed_min_for
from core.identify.prune import Held, SeedPruner, hold
from core.identify.verify import PeakVerifier


def lookup_triplets(
    index: FingerprintIndex,
    tr: fp.Triplets,
    live_ids: np.ndarray | None,
    source: int = 0,
    ranges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    gate: GateTable | None = None,
) -> Matches:
    """Look up the query triplets and keep only speed- and pitch-plausible matches."""
    if len(tr) == 0:
        return Matches.empty()
    if gate is None and len(tr) > GateTable.MAX_TRIPLETS:
        step = GateTable.MAX_TRIPLETS
        return Matches.concat(
            [
                lookup_triplets(index, tr.part(at, at + step), live_ids, source)
                for at in range(0, len(tr), step)
            ]
        )
    return Matches.concat(list(_lookup_pieces(index, tr, live_ids, source, ranges, gate)))


def _lookup_pieces(
    index: FingerprintIndex,
    tr: fp.Triplets,
    live_ids: np.ndarray | None,
    source: int,
    ranges: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    gate: GateTable | None,
) -> Iterator[Matches]:
    """``lookup_triplets``'s matches, a piece of the index's raw hits at a time."""
    lo, hi, owner = ranges if ranges is not None else fp.query_ranges(tr)
    gate = gate if gate is not None else GateTable(tr)
    for probe, vals in index.lookup_ranges(lo, hi):
        yield gate.matches(owner[probe], vals, live_ids, source)


class GateTable:
    """The speed and pitch gates (``fp.pitch_gate``, ``fp.dt13_range``) of a batch of
    query triplets, evaluated on raw hits directly or, once there are many, as a
    table of which stored anchors each triplet accepts.

    A raw hit passes or fails by its query triplet and the 16 low bits of its
    value alone (``t3 - t1`` and the anchor's quarter bin), so the gates can be
    evaluated once per (triplet, ``t3 - t1``, anchor offset) that can pass, and
    a hit then costs a dozen narrow passes and one table read instead of ~35
    passes over 8-byte fields: against 1000 hours a lookup reads ~140 M raw
    hits per 5 minutes of mix (~2,200 a triplet), and gating them directly was
    a third of its time (3.0 -> 2.0 s). Against a small library a triplet has a
    few raw hits and building the table (~400 evaluations a triplet) would cost
    more than it saves (a 60-minute mix: +3.5 s), so the table is built only
    when the hits outnumber ``TABLE_AFTER`` a triplet (against a big index,
    whose compiled loop reads only the table, at once). The table is filled by
    calling the gates themselves, so both ways give the same matches (against
    a big index by a compiled restatement of them, ``gate_kernel.gate_table``,
    which tests compare with it cell by cell).

    A triplet's row covers the ``t3 - t1`` values its speed gate accepts (at
    most ``_DT_SLOTS - 2``) between two slots that never pass, 512 bytes in
    all: small enough for a lookup of tens of thousands of triplets, whose
    rows are then read at random. Stored triplets have ``fp.DT13_MIN <= t3 -
    t1 <= fp.DT_MAX``, so the speed gate's range is cut to those. Lookup
    threads may share a table: it is built once, under a lock.
    """

    # Stored anchors within this many quarter bins either side of the query's
    # can pass: |pitch| <= F1_SHIFT (3.43 bins) plus rounding.
    _REACH = 16
    _DT_SLOTS = 16
    # A row: _DT_SLOTS slots of 2 * _REACH columns (gate_kernel reads these too).
    COL_BITS = 5
    ROW_BITS = 4 + COL_BITS
    _PAIRS = 2048
    # Table positions stay within int32.
    MAX_TRIPLETS = 1 << 16
    TABLE_AFTER = 64  # raw hits a triplet
    # Compiled, gated hits are held this many at a time (12 bytes each, in
    # buffers each lookup thread keeps): fewer, bigger ``Held`` make the
    # pruner's steps cheaper.
    HELD_AT_ONCE = 1 << 20

    def __init__(self, tr: fp.Triplets) -> None:
        if len(tr) > self.MAX_TRIPLETS:
            raise ValueError(f"at most {self.MAX_TRIPLETS} triplets a table")
        self.tr = tr
        self._hits = 0
        self._table: np.ndarray | None = None
        self._pitches: np.ndarray | None = None  # for the compiled loops (_pitch_bits)
        self._lock = threading.Lock()
        # The quarter bin of each triplet's first table column (offset -_REACH).
        self._edge = np.round(tr.f1.astype(np.float64) * 4).astype(np.int32) - self._REACH
        # The stored t3 - t1 of each triplet's first slot (one below its range).
        lo, hi = fp.dt13_range(tr.dt13)
        self._dlo = np.maximum(lo, fp.DT13_MIN)
        self._dhi = np.minimum(hi, fp.DT_MAX)
        self._dbase = (self._dlo - 1).astype(np.int32)
        # Each triplet's 10-second window and its frame within it (held matches').
        t1 = tr.t1.astype(np.int32)
        self._window = t1 // mt.WINDOW_FRAMES
        self._within = (t1 - self._window * mt.WINDOW_FRAMES).astype(np.uint16)

    def _build(self) -> np.ndarray:
        tr, n = self.tr, len(self.tr)
        # Every (triplet, stored t3 - t1) the speed gate lets through ...
        counts = np.clip(self._dhi - self._dlo + 1, 0, None)
        q = np.repeat(np.arange(n), counts)
        rdt = expand_ranges(self._dlo, counts)
        slot = rdt - self._dbase[q]
        # ... times every anchor offset, through the pitch gate, a few thousand
        # (triplet, t3 - t1) pairs at a time: their temporaries stay on the heap.
        table = np.zeros(n << self.ROW_BITS, dtype=bool)
        width = 2 * self._REACH
        offsets = np.arange(width)
        for at in range(0, len(q), self._PAIRS):
            qw = np.repeat(q[at : at + self._PAIRS], width)
            dw = np.repeat(rdt[at : at + self._PAIRS], width)
            sw = np.repeat(slot[at : at + self._PAIRS], width)
            rel = np.tile(offsets, len(qw) // width)
            rf1q = self._edge[qw] + rel
            ok = (rf1q >= 0) & (rf1q < 1 << F1_BITS) & (rel > 0) & (rel < width - 1)
            ref_f1 = rf1q.astype(np.float32) / 4  # as unpacked from a value
            ok &= fp.pitch_gate(tr.f1[qw] - ref_f1, dw, tr.dt13[qw])
            table[(qw << self.ROW_BITS) | (sw << self.COL_BITS) | rel] = ok
        return table

    def _pitch_bits(self) -> np.ndarray:
        """The pitch shift of each (triplet, table column) as ``_matches`` makes
        it, in float16 bits: a held match copies its own from there (numpy's
        float16 conversion of every gated match, and its float32 temporaries,
        were ~0.1 s and ~40 k page faults per 5 minutes against 1000 hours)."""
        ref_f1 = (self._edge[:, None] + np.arange(1 << self.COL_BITS)).astype(np.float32) / 4
        pitch = (self.tr.f1[:, None] - ref_f1).astype(np.float16)
        return pitch.view(np.uint16).ravel()

    def _compiled_build(self) -> np.ndarray:
        """``_build``'s table by a compiled loop (``gate_kernel.gate_table``)."""
        from core.identify.gate_kernel import gate_table

        # The constants in the types numpy compares a float32 pitch with them.
        def like_numpy(x: float) -> np.floating[Any]:
            return np.result_type(np.float32, x).type(x)  # type: ignore[no-any-return]

        table: np.ndarray = gate_table(
            self.tr.f1,
            self.tr.dt13,
            self._edge,
            self._dlo,
            self._dhi,
            self._dbase,
            fp.LOG_BINS,
            like_numpy(fp.F1_SHIFT),
            like_numpy(fp.KEYLOCK_PITCH_TOL),
            float(fp.VINYL_PITCH_TOL),
            float(fp.VINYL_PITCH_TOL_FRAMES),
        )
        return table

    def _table_for(self, hits: int, compiled: bool = False) -> np.ndarray | None:
        """The table, once built (``compiled``: at once, by the compiled loop,
        with the pitch shifts the compiled loops hold)."""
        with self._lock:
            self._hits += hits
            if compiled:
                if self._table is None:
                    self._table = self._compiled_build()
                if self._pitches is None:
                    self._pitches = self._pitch_bits()
            elif self._table is None and self._hits > self.TABLE_AFTER * len(self.tr):
                self._table = self._build()
            return self._table

    def passed(self, q: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Positions of the raw hits (query triplet, packed value) that pass."""
        table = self._table_for(len(q))
        if table is None:
            return self._passed_directly(q, vals)
        return self._passed_by(table, q, vals)

    def _passed_by(self, table: np.ndarray, q: np.ndarray, vals: np.ndarray) -> np.ndarray:
        # In 2- and 4-byte fields: this runs on every raw hit.
        low = vals.astype(np.uint16)  # the value's 16 low bits: t3 - t1, anchor
        q32 = q.astype(np.int32)
        rel = (low & ((1 << F1_BITS) - 1)).astype(np.int32)
        rel -= self._edge[q32]
        np.clip(rel, 0, 2 * self._REACH - 1, out=rel)  # the two end offsets never pass
        slot = (low >> F1_BITS).astype(np.int32)
        slot -= self._dbase[q32]
        np.clip(slot, 0, self._DT_SLOTS - 1, out=slot)  # nor do the end slots
        rel += slot << self.COL_BITS
        rel += q32 << self.ROW_BITS
        passed: np.ndarray = np.flatnonzero(table[rel])
        return passed

    def _passed_directly(self, q: np.ndarray, vals: np.ndarray) -> np.ndarray:
        ref_dt13, ref_f1 = anchor_values(vals)
        qdt = self.tr.dt13[q]
        # Vinyl moves the pitch with the speed, keylock keeps it; anything else
        # is a chance collision.
        keep = fp.pitch_gate(self.tr.f1[q] - ref_f1, ref_dt13, qdt)
        lo, hi = fp.dt13_range(qdt)  # key ranges hold only these; a point lookup may not
        keep &= (ref_dt13 >= lo) & (ref_dt13 <= hi)
        passed: np.ndarray = np.flatnonzero(keep)
        return passed

    def matches(
        self, q: np.ndarray, vals: np.ndarray, live_ids: np.ndarray | None, source: int
    ) -> Matches:
        """The raw hits (query triplet, packed value) that pass, as matches."""
        passed = self.passed(q, vals)
        return self._matches(q[passed], vals[passed], live_ids, source)

    def held_in(
        self,
        pieces: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
        owner: np.ndarray,
        live_ids: np.ndarray | None,
        live: np.ndarray | None,
        source: int,
    ) -> list[Held]:
        """The matches in pieces of ``FingerprintIndex.range_pieces`` (``owner``:
        each range's query triplet), held for the pruner (``prune.hold``).

        With ``live`` (``live[track id]`` for the tracks of ``live_ids``; given
        against a big index), read, gated and held by compiled loops
        (``gate_kernel``), the same matches in the same order, one ``Held`` a
        window for up to ``HELD_AT_ONCE`` of them (the pruner's steps are per
        ``Held``), the table built at once; otherwise in numpy, a piece at a
        time (a small index never imports numba).
        """
        out: list[Held] = []
        if live is None:
            for vals, first, counts, which in pieces:
                q = np.repeat(owner[which], counts)
                v = vals[expand_ranges(first, counts)]
                table = self._table_for(len(q))
                passed = (
                    self._passed_directly(q, v) if table is None else self._passed_by(table, q, v)
                )
                out.extend(hold(self._matches(q[passed], v[passed], live_ids, source)))
            return out
        from core.identify.gate_kernel import gate_ranges

        n = 0
        for vals, first, counts, which in pieces:
            total = int(counts.sum())
            table = self._table_for(total, compiled=True)
            assert table is not None
            if n and n + total > self.HELD_AT_ONCE:
                out.extend(self._held_fields(n, source))
                n = 0
            out_q, out_v = _buffers(n + total, n)
            n += gate_ranges(
                vals,
                first,
                counts,
                owner[which],
                table,
                self._edge,
                self._dbase,
                live,
                out_q[n:],
                out_v[n:],
            )
        out.extend(self._held_fields(n, source))
        return out

    def _held_fields(self, n: int, source: int) -> list[Held]:
        """The first ``n`` gated hits in this thread's buffers, held (one ``Held`` a window)."""
        if n == 0:
            return []
        from core.identify.gate_kernel import held_fields

        out_q, out_v = _buffers(n, n)
        assert self._pitches is not None  # made with the table
        w_lo, starts, track, qt, rt, pitch = held_fields(
            out_q[:n], out_v[:n], self._window, self._within, self._edge, self._pitches, source
        )
        pitch16 = pitch.view(np.float16)
        return [
            Held(w_lo + i, track[a:b], qt[a:b], rt[a:b], pitch16[a:b])
            for i, (a, b) in enumerate(itertools.pairwise(starts.tolist()))
            if b > a
        ]

    def _matches(
        self, q: np.ndarray, vals: np.ndarray, live_ids: np.ndarray | None, source: int
    ) -> Matches:
        ref = unpack_values(vals)
        if live_ids is not None:
            live = np.isin(ref.track, live_ids)
            ref = Unpacked(ref.track[live], ref.t1[live], ref.dt13[live], ref.f1[live])
            q = q[live]
        tr = self.tr
        return Matches(
            ref.track | (source << SOURCE_SHIFT),
            tr.t1[q].astype(np.int32),
            ref.t1.astype(np.int32),
            (tr.f1[q] - ref.f1).astype(np.float16),
        )


_BUFFERS = threading.local()


def _buffers(n: int, used: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's output buffers for the compiled gate, at least ``n`` long,
    their first ``used`` items kept: reused, because fresh memory costs a page
    fault a page (and the matches made from them are copies)."""
    q: np.ndarray | None = getattr(_BUFFERS, "q", None)
    if q is None or len(q) < n:
        size = max(n + n // 2, 1 << 17)
        grown_q, grown_v = np.empty(size, np.int32), np.empty(size, np.uint64)
        if q is not None and used:
            grown_q[:used] = q[:used]
            grown_v[:used] = _BUFFERS.v[:used]
        _BUFFERS.q, _BUFFERS.v = grown_q, grown_v
    return _BUFFERS.q, _BUFFERS.v


def _dt_slots_needed() -> int:
    """Slots a gate table row needs: the widest speed range plus the two ends."""
    lo, hi = fp.dt13_range(np.arange(fp.DT13_MIN, fp.DT_MAX + 1))
    return int((np.minimum(hi, fp.DT_MAX) - np.maximum(lo, fp.DT13_MIN)).max()) + 3


assert _dt_slots_needed() <= GateTable._DT_SLOTS
assert GateTable._DT_SLOTS << GateTable.COL_BITS == 1 << GateTable.ROW_BITS
assert 2 * GateTable._REACH == 1 << GateTable.COL_BITS


_Ranges = tuple[np.ndarray, np.ndarray, np.ndarray]


def _live_mask(live_ids: np.ndarray | None) -> np.ndarray:
    """``live[track id]`` for the compiled gate; empty: every track is live."""
    if live_ids is None:
        return np.zeros(0, dtype=bool)
    ids = np.asarray(live_ids, dtype=np.int64)
    mask = np.zeros(int(ids.max()) + 1 if len(ids) else 1, dtype=bool)
    mask[ids] = True
    return mask


def _key_shares(ranges: _Ranges, n: int) -> list[_Ranges]:
    """Key ranges (lo, hi, owner) cut into ``n`` runs of neighbouring keys: lookups
    on separate threads then touch separate pages of the index."""
    lo, hi, owner = ranges
    order = np.argsort(lo, kind="stable")
    return [(lo[at], hi[at], owner[at]) for at in np.array_split(order, n)]


class StreamingMatcher:
    """Consume peaks as the mix decodes; look triplets up in bounded batches.

    ``index`` may be a list of indexes (with ``live_ids`` a list of the same
    length, an entry per index); every batch is looked up in each, and each
    play says which one its track is in (``LocalPlay.source``).
    """

    BATCH_FRAMES = int(30 / fp.FRAME_S)
    LOOKUP_TRIPLETS = 1500
    # Against a big index (``FingerprintIndex.is_big``) a lookup's cost was its
    # page faults: a range of entries lands in its own part of the mapping, and
    # the pages are handed back after each piece (a 1000-hour index does not fit
    # the memory budget), so each lookup maps most of the index again: 1500
    # triplets at a time faulted ~360 k times per 5 minutes of mix (in 4 kB
    # folios: 3.3 s of CPU to read 140 M entries). Thousands of triplets at a
    # time share those pages, and a batch's remainder waits for the next batch
    # rather than cost a pass of its own. The matches are held (12 bytes each)
    # as they come, and a lookup is sized to pass about BIG_LOOKUP_MATCHES of
    # them (from the last one's matches a triplet): two lookups' and the
    # pruner's held matches are most of the memory.
    BIG_BATCH_FRAMES = int(60 / fp.FRAME_S)
    BIG_LOOKUP_TRIPLETS = 24_000
    BIG_LOOKUP_MATCHES = 4_000_000
    # Against a big index each lookup runs on worker threads (numpy and page
    # faults run without the GIL), a share of its key ranges each, beside the
    # decoding and pruning on the caller's. Against a small one decoding
    # dominates, and a second thread's malloc arena cost ~50 % more page faults
    # (60-minute mix: 9.3 -> 10.4 s).
    LOOKUP_THREADS = min(
        2,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
    )

    def __init__(
        self,
        index: FingerprintIndex | Sequence[FingerprintIndex],
        live_ids: np.ndarray | None | Sequence[np.ndarray | None],
    ) -> None:
        self.indexes = [index] if isinstance(index, FingerprintIndex) else list(index)
        if isinstance(index, FingerprintIndex):
            self.live_ids: list[np.ndarray | None] = [live_ids]  # type: ignore[list-item]
        else:
            self.live_ids = list(live_ids) if live_ids is not None else [None] * len(self.indexes)
        if len(self.live_ids) != len(self.indexes):
            raise ValueError("one live_ids entry per index")

        self._peaks = fp.concat_peaks([])
        # Every peak of the mix, compact, for the second look at weak plays.
        self._all_t: list[np.ndarray] = []
        self._all_f: list[np.ndarray] = []
        # A big library's chance matches are dropped as the mix streams (prune.py).
        # Seeds need more matches in a bigger library (find_plays takes the same).
        self.seed_min = seed_min_for(sum(index.entries for index in self.indexes))
        self.triplets = 0
        big = self._big = any(index.is_big() for index in self.indexes)
        self._pruner = SeedPruner(self.seed_min, compiled=big)
        # For the compiled gate, used only against a big index.
        self._live_masks = [_live_mask(live) for live in self.live_ids] if big else []
        self._batch_frames = self.BIG_BATCH_FRAMES if big else self.BATCH_FRAMES
        # A big index's lookups grow from this once their matches a triplet are known.
        self._lookup_size = self.LOOKUP_TRIPLETS
        self._pool = (
            ThreadPoolExecutor(self.LOOKUP_THREADS, thread_name_prefix="lookup")
            if self.LOOKUP_THREADS > 1 and big
            else None
        )
        # Lookups under way, in mix order: (their shares' matches, the frame they complete).
        self._pending: deque[tuple[list[Future[list[Held]]], int | None, int]] = deque()

    @property
    def gated(self) -> int:
        """Matches that passed the gates so far (before pruning)."""
        return self._pruner.seen

    def feed(self, peaks: fp.Peaks) -> None:
        self._peaks = fp.concat_peaks([self._peaks, peaks])
        self._all_t.append(peaks.t.astype(np.int32))
        self._all_f.append(peaks.f.astype(np.float16))
        if len(self._peaks) and self._peaks.t[-1] - self._peaks.t[0] > self._batch_frames:
            try:
                self._process(final=False)
            except BaseException:
                self.close()
                raise

    def finish(self) -> Matches:
        try:
            self._process(final=True)
            self._drain(0)
        finally:
            self.close()
        return self._pruner.finish()

    def close(self) -> None:
        """Stop the lookup threads (``finish`` does, and a failed ``feed``)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def verifier(self) -> PeakVerifier:
        """A second look for find_plays, on the mix's peaks and the indexes' stored ones."""
        t = np.concatenate(self._all_t) if self._all_t else np.zeros(0, np.int32)
        f = np.concatenate(self._all_f) if self._all_f else np.zeros(0, np.float16)
        self._all_t, self._all_f = [], []
        stores = [index.peaks for index in self.indexes]

        def ref_peaks(code: int) -> tuple[np.ndarray, np.ndarray] | None:
            return stores[code >> SOURCE_SHIFT].read(code & ((1 << SOURCE_SHIFT) - 1))

        def has_peaks(code: int) -> bool:
            return stores[code >> SOURCE_SHIFT].has(code & ((1 << SOURCE_SHIFT) - 1))

        return PeakVerifier(t, f, ref_peaks, has_peaks)

    def _process(self, final: bool) -> None:
        p = self._peaks
        if len(p) == 0:
            return
        # Anchors whose whole partner zone has arrived are final.
        cutoff = p.t[-1] + 1 if final else p.t[-1] - fp.DT_MAX
        tr = fp.triplets(p, fp.QUERY_FANOUT)
        tr = tr.part(0, int(np.searchsorted(tr.t1, cutoff)))  # triplets are in anchor order
        # Bounded lookups: raw hits before gating are ~60 bytes each and a big
        # batch of them was the peak of a whole identification's memory.
        lo = 0
        while lo < len(tr):
            nxt = min(lo + self._lookup_size, len(tr))
            if self._big and not final:
                # Against a big index a lookup is a pass over most of the
                # mapping, whatever its size: a batch's remainder waits for the
                # next batch instead of costing a small lookup of its own (which
                # also left the previous lookup's pruning alone on a core).
                if nxt == len(tr):
                    break
                # Lookups end between anchor frames: what waits is re-formed
                # from the peaks from its first anchor's frame on.
                nxt = int(np.searchsorted(tr.t1, tr.t1[nxt]))
                if nxt <= lo:  # one frame's anchors outnumber a lookup
                    nxt = int(np.searchsorted(tr.t1, tr.t1[lo], side="right"))
            part = tr.part(lo, nxt)
            self.triplets += len(part)
            # Anchors are in time order: those before the next lookup's are done.
            done_upto = int(tr.t1[nxt]) if nxt < len(tr) else int(cutoff)
            complete = None if final and nxt >= len(tr) else done_upto
            lo = nxt
            ranges = fp.query_ranges(part)
            gate = GateTable(part)
            if self._pool is None:
                self._prune([self._lookup(ranges, gate)], complete, len(part))
                continue
            shares = _key_shares(ranges, self.LOOKUP_THREADS)
            futures = [self._pool.submit(self._lookup, share, gate) for share in shares]
            self._pending.append((futures, complete, len(part)))
            self._drain(1)
        rest = p.t >= (tr.t1[lo] if lo < len(tr) else cutoff)
        self._peaks = fp.Peaks(p.t[rest], p.f[rest], p.m[rest])

    def _lookup(self, ranges: _Ranges, gate: GateTable) -> list[Held]:
        """The matches in these key ranges of every index, held as the index gives
        them (``hold``: a big lookup's matches would be hundreds of MB as ``Matches``)."""
        lo, hi, owner = ranges
        owner = owner.astype(np.int32)
        held: list[Held] = []
        for source, (index, live_ids) in enumerate(zip(self.indexes, self.live_ids, strict=True)):
            live = self._live_masks[source] if self._big else None
            held.extend(gate.held_in(index.range_pieces(lo, hi), owner, live_ids, live, source))
        if self._big:
            # The seed sketch counted here, beside the other lookup thread,
            # rather than after, on the caller's thread: that thread's pruning
            # had become the slower side of the pipeline (5-minute mix against
            # 1000 hours: 1.76-2.00 -> 1.62-1.86 s, medians of 5).
            self._pruner.count(held)
        return held

    def _prune(self, shares: list[list[Held]], complete: int | None, triplets: int) -> None:
        held = [h for share in shares for h in share]
        if self._big:
            # The next lookup's size, from this one's matches a triplet: held
            # matches were most of the memory (a real 1000-hour library passes
            # twice the matches of a synthetic one).
            rate = max(sum(len(h) for h in held) / max(triplets, 1), 1.0)
            self._lookup_size = int(
                np.clip(
                    self.BIG_LOOKUP_MATCHES / rate, self.LOOKUP_TRIPLETS, self.BIG_LOOKUP_TRIPLETS
                )
            )
        self._pruner.add_held(held, complete, counted=self._big)

    def _drain(self, keep: int) -> None:
        """Prune the oldest lookups' matches (in order) until ``keep`` are under way."""
        while len(self._pending) > keep:
            found, complete, triplets = self._pending.popleft()
            self._prune([share.result() for share in found], complete, triplets)
