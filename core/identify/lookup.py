"""From a streaming mix's triplets to gated matches: lookups, gates and pruning.

``StreamingMatcher`` takes the mix's peaks as they decode, forms query triplets a
batch at a time, looks them up (``lookup_triplets``: every key range a matching
reference triplet can lie in, ``fp.query_ranges``), keeps the matches whose speed
and pitch are plausible (``GateTable``) and hands them to the pruner
(``prune.py``), which drops those no play can use. ``matching.find_plays`` then
turns what is left into plays.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from core.identify import fingerprint as fp
from core.identify.index import (
    DT13_BITS,
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


_TABLES = threading.local()


def _cleared(n: int) -> np.ndarray:
    """This thread's gate table, ``n`` entries all False: reused, because fresh
    memory costs a page fault a page (6 MB a lookup of 1500 triplets)."""
    table: np.ndarray | None = getattr(_TABLES, "table", None)
    if table is None or len(table) < n:
        table = np.zeros(n, dtype=bool)
        _TABLES.table = table
    else:
        table[:n] = False
    return table[:n]


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
    few raw hits and building the table (~320 evaluations a triplet) would cost
    more than it saves (a 60-minute mix: +3.5 s), so the table is built only
    when the hits outnumber ``TABLE_AFTER`` a triplet. The table is filled by
    calling the gates themselves, so both ways give the same matches.
    """

    # Stored anchors within this many quarter bins either side of the query's
    # can pass: |pitch| <= F1_SHIFT (3.43 bins) plus rounding.
    _REACH = 16
    _PAIRS = 2048
    # 4 kB of table a triplet; table positions stay within int32.
    MAX_TRIPLETS = 1 << 13
    TABLE_AFTER = 64  # raw hits a triplet

    def __init__(self, tr: fp.Triplets) -> None:
        if len(tr) > self.MAX_TRIPLETS:
            raise ValueError(f"at most {self.MAX_TRIPLETS} triplets a table")
        self.tr = tr
        self._hits = 0
        self._table: np.ndarray | None = None
        # The quarter bin of each triplet's first table column (offset -_REACH).
        self._edge = np.round(tr.f1.astype(np.float64) * 4).astype(np.int32) - self._REACH

    def _build(self) -> np.ndarray:
        tr, n = self.tr, len(self.tr)
        # Every (triplet, stored t3 - t1) the speed gate lets through ...
        dlo, dhi = fp.dt13_range(tr.dt13)
        dlo = np.maximum(dlo, 0)
        dhi = np.minimum(dhi, (1 << DT13_BITS) - 1)
        counts = np.clip(dhi - dlo + 1, 0, None)
        q = np.repeat(np.arange(n), counts)
        rdt = expand_ranges(dlo, counts)
        # ... times every anchor offset, through the pitch gate, a few thousand
        # (triplet, t3 - t1) pairs at a time: their temporaries stay on the heap.
        table = _cleared(n << (DT13_BITS + 5))
        width = 2 * self._REACH
        offsets = np.arange(width)
        for at in range(0, len(q), self._PAIRS):
            qw = np.repeat(q[at : at + self._PAIRS], width)
            dw = np.repeat(rdt[at : at + self._PAIRS], width)
            rel = np.tile(offsets, len(qw) // width)
            rf1q = self._edge[qw] + rel
            ok = (rf1q >= 0) & (rf1q < 1 << F1_BITS) & (rel > 0) & (rel < width - 1)
            ref_f1 = rf1q.astype(np.float32) / 4  # as unpacked from a value
            ok &= fp.pitch_gate(tr.f1[qw] - ref_f1, dw, tr.dt13[qw])
            table[(((qw << DT13_BITS) | dw) << 5) | rel] = ok
        return table

    def passed(self, q: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Positions of the raw hits (query triplet, packed value) that pass."""
        self._hits += len(q)
        if self._table is None and self._hits > self.TABLE_AFTER * len(self.tr):
            self._table = self._build()
        if self._table is None:
            return self._passed_directly(q, vals)
        # In 2- and 4-byte fields: this runs on every raw hit.
        low = vals.astype(np.uint16)  # the value's 16 low bits: t3 - t1, anchor
        q32 = q.astype(np.int32)
        rel = (low & ((1 << F1_BITS) - 1)).astype(np.int32)
        rel -= self._edge[q32]
        np.clip(rel, 0, 2 * self._REACH - 1, out=rel)  # the two end offsets never pass
        rel += (low >> F1_BITS) << 5
        rel += q32 << (DT13_BITS + 5)
        passed: np.ndarray = np.flatnonzero(self._table[rel])
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
        ref = unpack_values(vals[passed])
        q = q[passed]
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


class StreamingMatcher:
    """Consume peaks as the mix decodes; look triplets up in bounded batches.

    ``index`` may be a list of indexes (with ``live_ids`` a list of the same
    length, an entry per index); every batch is looked up in each, and each
    play says which one its track is in (``LocalPlay.source``).
    """

    BATCH_FRAMES = int(30 / fp.FRAME_S)
    LOOKUP_TRIPLETS = 1500
    # Against a big index (``FingerprintIndex.is_big``) lookups run on worker threads
    # (numpy and page faults run without the GIL), beside the decoding and
    # pruning on the caller's: against 1000 hours a lookup is two thirds of the
    # work, and two threads took a 5-minute mix from 8.9 to 5.4 s. Against a
    # small one decoding dominates, and a second thread's malloc arena cost
    # ~50 % more page faults (60-minute mix: 9.3 -> 10.4 s). Two, not a thread
    # a core: each holds a lookup's temporaries.
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
        self._pruner = SeedPruner(self.seed_min)
        self.triplets = 0
        self._pool = (
            ThreadPoolExecutor(self.LOOKUP_THREADS, thread_name_prefix="lookup")
            if self.LOOKUP_THREADS > 1 and any(index.is_big() for index in self.indexes)
            else None
        )
        # Lookups under way, in mix order: (their matches, the frame they complete).
        self._pending: deque[tuple[Future[list[Matches]], int | None]] = deque()

    @property
    def gated(self) -> int:
        """Matches that passed the gates so far (before pruning)."""
        return self._pruner.seen

    def feed(self, peaks: fp.Peaks) -> None:
        self._peaks = fp.concat_peaks([self._peaks, peaks])
        self._all_t.append(peaks.t.astype(np.int32))
        self._all_f.append(peaks.f.astype(np.float16))
        if len(self._peaks) and self._peaks.t[-1] - self._peaks.t[0] > self.BATCH_FRAMES:
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
        self.triplets += len(tr)
        # Small lookups: raw hits before gating are ~60 bytes each and a big
        # batch of them was the peak of a whole identification's memory.
        for lo in range(0, len(tr), self.LOOKUP_TRIPLETS):
            part = tr.part(lo, lo + self.LOOKUP_TRIPLETS)
            # Anchors are in time order: those before the next piece's are done.
            nxt = lo + self.LOOKUP_TRIPLETS
            done_upto = int(tr.t1[nxt]) if nxt < len(tr) else int(cutoff)
            complete = None if final and nxt >= len(tr) else done_upto
            if self._pool is None:
                self._prune(self._lookup(part), complete)
                continue
            self._pending.append((self._pool.submit(self._lookup, part), complete))
            self._drain(self.LOOKUP_THREADS)
        rest = p.t >= cutoff
        self._peaks = fp.Peaks(p.t[rest], p.f[rest], p.m[rest])

    def _lookup(self, part: fp.Triplets) -> list[Matches]:
        """The matches of ``part``, in the pieces the index gave them (never
        concatenated: the pruner holds each piece as it comes)."""
        ranges = fp.query_ranges(part)
        gate = GateTable(part)
        return [
            piece
            for source, (index, live) in enumerate(zip(self.indexes, self.live_ids, strict=True))
            for piece in _lookup_pieces(index, part, live, source, ranges, gate)
        ]

    def _prune(self, pieces: list[Matches], complete: int | None) -> None:
        held: list[Held] = []
        pieces.reverse()
        while pieces:  # in order; each piece goes as soon as it is held
            held.extend(hold(pieces.pop()))
        self._pruner.add_held(held, complete)

    def _drain(self, keep: int) -> None:
        """Prune the oldest lookups' matches (in order) until ``keep`` are under way."""
        while len(self._pending) > keep:
            found, complete = self._pending.popleft()
            self._prune(found.result(), complete)
