"""The fingerprint index: sorted, memory-mapped segments of (hash key, packed value).

Layout under ``folder`` (``settings.library_dir / "fingerprints"``)::

    manifest.json          segments in use and the fingerprint version
    seg-000001.vals.npy    uint64 packed (track id, anchor frame, dt13, anchor bin),
                           in hash key order
    seg-000001.keys.npy    uint32 hash key of each entry      (small segments), or
    seg-000001.offs.npy    where each key's entries start     (big segments)
    peaks/<track id>.npy   the track's peaks, for verifying weak plays (peak_store.py)

The key space is small (``fp.KEY_SPACE``, ~23 M keys), so a segment with more
entries than that stores a dense table of offsets (``offs[k]`` to
``offs[k + 1]`` are key ``k``'s entries) instead of a key per entry: a lookup
is then two reads instead of two binary searches over hundreds of millions of
keys, a *range* of keys (``fp.query_ranges``) costs the same as one key, and an
entry costs 8 bytes instead of 12. Smaller segments keep the sorted keys, which
cost less than the table there. At ~60 hashes per second of audio a big
library's index is about 1.8 MB per hour of reference audio.

Segments are immutable and memory-mapped, so a lookup touches only the pages
of the keys it asks for and a 1000-hour library does not have to fit in a
process's memory. New tracks arrive as a new segment; small segments are merged
(an LSM-style tiering, streaming in bounded memory) so a lookup never reads
more than ``MAX_SEGMENTS`` segments; adding tracks never rewrites the big
segments. Removing a track only drops it from the database: lookups ignore
track ids that are not live, and the next merge leaves their entries behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput
from core.identify import fingerprint as fp
from core.identify.peak_store import PeakStore

# Bump when hashes change meaning: an old index must then be rebuilt.
FINGERPRINT_VERSION = (
    f"triplet-v2/{fp.SAMPLE_RATE}/{fp.HOP}/{fp.BINS_PER_OCTAVE}/{fp.R_LEVELS}/{fp.DF_STEP}/"
    f"{fp.F1_BAND}/dt{fp.DT13_MIN}-{fp.DT_MAX}/{fp.REF_FANOUT}"
)
MAX_SEGMENTS = 6

_TRACK_BITS, _T_BITS, _DT_BITS, _F_BITS = 28, 20, 7, 9
MAX_TRACK_ID = (1 << _TRACK_BITS) - 1
# The value's lowest bits: t3 - t1 (frames), then the anchor (quarter log bins).
DT13_BITS, F1_BITS = _DT_BITS, _F_BITS
T1_BITS = _T_BITS  # the anchor's frame, above them
MAX_FRAMES = (1 << _T_BITS) - 1  # 4.6 hours of reference audio per track


def pack_values(
    track_id: int | np.ndarray, t1: np.ndarray, dt13: np.ndarray, f1: np.ndarray
) -> np.ndarray:
    f1q = np.clip(np.round(np.asarray(f1) * 4), 0, (1 << _F_BITS) - 1).astype(np.uint64)
    tid = np.asarray(track_id, dtype=np.uint64)
    packed: np.ndarray = (
        (tid << np.uint64(_T_BITS + _DT_BITS + _F_BITS))
        | (np.asarray(t1, dtype=np.uint64) << np.uint64(_DT_BITS + _F_BITS))
        | (np.asarray(dt13, dtype=np.uint64) << np.uint64(_F_BITS))
        | f1q
    )
    return packed


@dataclass
class Unpacked:
    track: np.ndarray  # int64
    t1: np.ndarray  # int64 frames
    dt13: np.ndarray  # int64 frames
    f1: np.ndarray  # float32 log bins


def unpack_values(vals: np.ndarray) -> Unpacked:
    v = vals.astype(np.uint64, copy=False)
    return Unpacked(
        track=(v >> np.uint64(_T_BITS + _DT_BITS + _F_BITS)).astype(np.int64),
        t1=((v >> np.uint64(_DT_BITS + _F_BITS)) & np.uint64((1 << _T_BITS) - 1)).astype(np.int64),
        dt13=((v >> np.uint64(_F_BITS)) & np.uint64((1 << _DT_BITS) - 1)).astype(np.int64),
        f1=((v & np.uint64((1 << _F_BITS) - 1)).astype(np.float32) / 4),
    )


def anchor_values(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(dt13, f1)`` of packed values alone: what the speed and pitch gates look
    at, so that the other fields are unpacked only for the entries they pass."""
    v = vals.astype(np.uint64, copy=False)
    dt13 = ((v >> np.uint64(_F_BITS)) & np.uint64((1 << _DT_BITS) - 1)).astype(np.intp)
    f1 = (v & np.uint64((1 << _F_BITS) - 1)).astype(np.float32) / 4
    return dt13, f1


# Mapped files this big ask for huge pages (``_Mapped``).
HUGE_PAGES_FROM = 64 << 20


class _Mapped:
    """A read-only ``.npy`` array mapped from disk whose pages can be handed back.

    Mapped pages a lookup touched count in the process's RSS; against a
    1000-hour index (2 GB) that would pass any memory budget. ``release`` drops
    them from this process (they stay in the page cache, so touching them again
    is cheap). Our own ``mmap`` rather than ``np.load(mmap_mode=...)`` because
    numpy does not expose its mapping to ``madvise``.

    The mapping also asks for huge pages (``MADV_HUGEPAGE``, where transparent
    huge pages are on for ``madvise``): pages that come back from disk are then
    cached in 2 MB folios, which a fault maps (and ``release`` unmaps) at a
    time. A lookup against a big index touches most of it, and with 4 kB
    folios it cost ~230 k faults per 5 minutes of mix against 1000 hours
    (1.5 s of system time, ~40 % of the lookup); with 2 MB folios ~45 k and
    0.5 s. (Files just written, as ``cratebot index`` writes them, are cached in
    large folios already; without the advice, pages evicted and read back
    through the mapping came back in 4 kB ones.) Only big files ask: a small
    index stays mapped whole, where a 2 MB unit only adds to the RSS.
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(f)
            offset = f.tell()
            count = int(np.prod(shape))
            if fortran or len(shape) != 1:
                raise BadInput(f"{path.name}: not a fingerprint segment")
            self._mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if count else None
        if (
            self._mmap is not None
            and len(self._mmap) >= HUGE_PAGES_FROM
            and hasattr(mmap, "MADV_HUGEPAGE")
        ):
            # Best effort: a kernel without transparent huge pages refuses it.
            with contextlib.suppress(OSError):
                self._mmap.madvise(mmap.MADV_HUGEPAGE)
        self._offset = offset
        self.array: np.ndarray = (
            np.frombuffer(self._mmap, dtype=dtype, count=count, offset=offset)
            if self._mmap is not None
            else np.zeros(0, dtype=dtype)
        )

    def release(self, first: int = 0, end: int | None = None) -> None:
        """Hand back the pages of items ``first:end`` (all by default)."""
        if self._mmap is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        if end is None:
            self._mmap.madvise(mmap.MADV_DONTNEED)
            return
        size = self.array.itemsize
        start = (self._offset + first * size) // mmap.PAGESIZE * mmap.PAGESIZE
        stop = min(self._offset + end * size, len(self._mmap))
        if stop > start:
            self._mmap.madvise(mmap.MADV_DONTNEED, start, stop - start)


@dataclass
class _Segment:
    """One immutable segment: entries in key order, found by sorted keys or offsets."""

    name: str
    vals: np.ndarray
    keys: np.ndarray | None = None  # layout "keys"
    offs: np.ndarray | None = None  # layout "offsets": KEY_SPACE + 1 entry starts
    maps: tuple[_Mapped, ...] = ()

    def position(self, keys: np.ndarray) -> np.ndarray:
        """Index of the first entry whose key is >= each of ``keys`` (sorted or not)."""
        if self.offs is not None:
            k = np.clip(np.asarray(keys, dtype=np.int64), 0, len(self.offs) - 1)
            at: np.ndarray = self.offs[k].astype(np.int64)
            return at
        assert self.keys is not None
        k = np.asarray(keys, dtype=np.int64)
        # Probes in the keys' own dtype: mixed dtypes would make numpy convert
        # (copy) the whole mapped key array on every call.
        probe = np.clip(k, 0, (1 << 32) - 1).astype(np.uint32)
        pos: np.ndarray = np.searchsorted(self.keys, probe, side="left")
        return np.where(k >= 1 << 32, len(self.keys), pos)

    def keys_of(self, lo: int, hi: int, lo_key: int, hi_key: int) -> np.ndarray:
        """The keys of entries ``lo:hi``, which all lie in ``[lo_key, hi_key)``."""
        if self.keys is not None:
            return np.asarray(self.keys[lo:hi])
        assert self.offs is not None
        hi_key = min(hi_key, len(self.offs) - 1)
        bounds: np.ndarray = np.asarray(self.offs[lo_key : hi_key + 1], dtype=np.int64)
        counts: np.ndarray = bounds[1:] - bounds[:-1]
        return np.repeat(np.arange(lo_key, hi_key, dtype=np.int64), counts).astype(np.uint32)

    @property
    def nbytes(self) -> int:
        extra = self.keys if self.keys is not None else self.offs
        return int(self.vals.nbytes + (extra.nbytes if extra is not None else 0))

    def release(self) -> None:
        for m in self.maps:
            m.release()

    def release_table(self, lo_key: int = 0, hi_key: int | None = None) -> None:
        """Hand back the pages of the keys or offsets table (an offsets table's
        for keys ``lo_key:hi_key`` only, when given)."""
        for m in self.maps[1:]:
            if hi_key is None or self.offs is None:
                m.release()
            else:
                m.release(lo_key, hi_key + 1)

    def release_entries(self, first: np.ndarray, counts: np.ndarray) -> None:
        """Hand back the pages that entries ``first[i]:first[i] + counts[i]`` span
        (``first`` ascending), not the whole mapping's: lookups on other threads
        keep theirs. An offsets table (4 bytes a key, ~91 MB) is touched all
        over by every lookup and goes a few MB at a time (``release_table``):
        mapping it again after each piece cost ~0.3 s per 5 minutes of mix
        against 1000 hours (~1.5 s more with a cold cache)."""
        if self.maps and len(first):
            self.maps[0].release(int(first[0]), int((first + counts).max()))


# A lookup hands back an offsets table's pages each time it has passed this many keys.
TABLE_RELEASE_KEYS = 1 << 21
# Above this much mapped index, lookups hand touched pages back after each call.
RELEASE_BYTES = 128 << 20
# Segments with at least this many entries store offsets instead of keys (the
# table then costs less than a key per entry).
OFFSETS_MIN_ENTRIES = fp.KEY_SPACE


def _offsets_dtype(entries: int) -> type[np.unsignedinteger[Any]]:
    return np.uint32 if entries < (1 << 32) else np.uint64


def write_segment(
    folder: Path, name: str, keys: np.ndarray, vals: np.ndarray, presorted: bool = False
) -> str:
    """Write entries as segment ``name`` (sorted by key here unless ``presorted``);
    returns its layout."""
    if presorted:
        np.save(folder / f"{name}.vals.npy", np.asarray(vals, dtype=np.uint64))
    else:
        order = np.argsort(keys, kind="stable")
        keys = np.asarray(keys)[order].astype(np.uint32)
        np.save(folder / f"{name}.vals.npy", np.asarray(vals)[order].astype(np.uint64))
        del order
    if len(keys) >= OFFSETS_MIN_ENTRIES:
        offs = np.searchsorted(keys, np.arange(fp.KEY_SPACE + 1, dtype=np.int64), side="left")
        np.save(folder / f"{name}.offs.npy", offs.astype(_offsets_dtype(len(keys))))
        return "offsets"
    np.save(folder / f"{name}.keys.npy", keys)
    return "keys"


def _segment_files(folder: Path, name: str) -> list[Path]:
    return [folder / f"{name}.{part}.npy" for part in ("vals", "keys", "offs")]


def _open_segment(folder: Path, entry: dict[str, Any]) -> _Segment:
    name = entry["name"]
    vals = _Mapped(folder / f"{name}.vals.npy")
    if entry.get("layout", "keys") == "offsets":
        offs = _Mapped(folder / f"{name}.offs.npy")
        if len(offs.array) != fp.KEY_SPACE + 1:
            raise BadInput(f"{name}.offs.npy: not a fingerprint segment")
        return _Segment(name, vals.array, offs=offs.array, maps=(vals, offs))
    keys = _Mapped(folder / f"{name}.keys.npy")
    return _Segment(name, vals.array, keys=keys.array, maps=(vals, keys))


class FingerprintIndex:
    """Read and extend the on-disk index. Writers serialise on a lock file."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._segments: list[_Segment] | None = None
        self.peaks = PeakStore(self.folder / "peaks")

    # -- manifest ---------------------------------------------------------------
    @property
    def _manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def _read_manifest(self) -> dict[str, Any]:
        try:
            manifest: dict[str, Any] = json.loads(self._manifest_path.read_text())
        except FileNotFoundError:
            return {"version": FINGERPRINT_VERSION, "segments": [], "next": 1}
        if manifest.get("version") != FINGERPRINT_VERSION:
            raise BadInput(
                "the fingerprint index was built by another version of CrateBot; "
                "run `cratebot index PATH` (any music folder) once to rebuild it from "
                "the library's files"
            )
        return manifest

    def is_current(self) -> bool:
        """False when the index on disk was built by a CrateBot with other hashes."""
        try:
            self._read_manifest()
        except BadInput:
            return False
        return True

    def reset(self) -> None:
        """Delete every segment and the manifest (before a rebuild)."""
        with self._locked():
            self.close()
            for path in self.folder.glob("seg-*.npy"):
                path.unlink(missing_ok=True)
            self._manifest_path.unlink(missing_ok=True)
            self.peaks.clear()

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self._manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, self._manifest_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- reading ----------------------------------------------------------------
    def _open(self) -> list[_Segment]:
        if self._segments is None:
            manifest = self._read_manifest()
            self._segments = [_open_segment(self.folder, e) for e in manifest["segments"]]
        return self._segments

    def close(self) -> None:
        self._segments = None

    @property
    def entries(self) -> int:
        return sum(len(s.vals) for s in self._open())

    def size_bytes(self) -> int:
        return sum(s.nbytes for s in self._open())

    def is_big(self) -> bool:
        """Past ``RELEASE_BYTES``: lookups hand pages back, and run on threads."""
        return self.size_bytes() > RELEASE_BYTES

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Entries stored under ``keys``: ``(probe index, packed value)`` arrays."""
        k = np.asarray(keys, dtype=np.int64)
        parts = list(self.lookup_ranges(k, k + 1))
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.uint64)
        return np.concatenate([p for p, _ in parts]), np.concatenate([v for _, v in parts])

    def lookup_ranges(
        self, lo: np.ndarray, hi: np.ndarray, max_hits: int = 1 << 16
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Entries with ``lo[i] <= key < hi[i]``, as ``(range index, packed value)`` pieces
        of at most about ``max_hits`` entries.

        Against a big library a range holds hundreds of entries; a caller that
        filters each piece keeps its memory bounded whatever the size.
        """
        for vals, first, counts, which in self.range_pieces(lo, hi, max_hits):
            yield np.repeat(which, counts), vals[expand_ranges(first, counts)]

    def range_pieces(
        self, lo: np.ndarray, hi: np.ndarray, max_hits: int = 1 << 16
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``lookup_ranges`` before its entries are read: pieces ``(entries, first,
        counts, which)``, where range ``which[i]`` is ``entries[first[i]:first[i] +
        counts[i]]`` (``entries`` a segment's mapped array: read it before asking
        for the next piece).

        Ranges go in key order, a block at a time, and a big index's entry pages
        are handed back after each piece (its offsets table's every
        ``TABLE_RELEASE_KEYS`` keys the walk passes: a whole table is 91 MB),
        so those resident at once are about one piece's.
        """
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.asarray(hi, dtype=np.int64)
        # In key order, the reads walk each segment in one direction.
        order = np.argsort(lo, kind="stable")
        lo_sorted, hi_sorted = lo[order], hi[order]
        release = self.is_big()
        block = 4096 if release else max(len(lo), 1)
        for seg in self._open():
            table_from = int(lo_sorted[0]) if len(lo_sorted) else 0
            for start in range(0, len(lo_sorted), block):
                first = seg.position(lo_sorted[start : start + block])
                cnt = seg.position(hi_sorted[start : start + block]) - first
                hits = np.nonzero(cnt > 0)[0]
                if len(hits) == 0:
                    continue
                cnt = cnt[hits]
                piece_no = np.cumsum(cnt) // max_hits
                edges = np.concatenate([[0], np.flatnonzero(np.diff(piece_no)) + 1, [len(hits)]])
                for a, b in zip(edges[:-1], edges[1:], strict=True):
                    h, c = hits[a:b], cnt[a:b]
                    yield seg.vals, first[h], c, order[start + h]
                    if release:
                        seg.release_entries(first[h], c)
                        # The table's pages this walk has passed (only its
                        # own: other threads walk other keys).
                        key = int(lo_sorted[start + h[-1]])
                        if key - table_from > TABLE_RELEASE_KEYS:
                            seg.release_table(table_from, key)
                            table_from = key
            if release:
                seg.release_table(table_from, int(hi_sorted.max()) if len(hi_sorted) else 0)

    # -- writing ----------------------------------------------------------------
    def add(self, items: Iterable[tuple[int, fp.Fingerprint]]) -> int:
        """Add fingerprints of tracks (by database id) as one new segment."""
        keys_parts, vals_parts = [], []
        for track_id, print_ in items:
            if not 0 < track_id <= MAX_TRACK_ID:
                raise ValueError(f"track id {track_id} out of range")
            # Before the segment that makes the track findable.
            if print_.peaks is not None:
                self.peaks.write(track_id, print_.peaks)
            ok = print_.t1 <= MAX_FRAMES
            keys_parts.append(print_.keys[ok])
            vals_parts.append(pack_values(track_id, print_.t1[ok], print_.dt13[ok], print_.f1[ok]))
        if not keys_parts:
            return 0
        keys = np.concatenate(keys_parts)
        vals = np.concatenate(vals_parts)
        with self._locked():
            manifest = self._read_manifest()
            name = f"seg-{manifest['next']:06d}"
            manifest["next"] += 1
            layout = write_segment(self.folder, name, keys, vals)
            manifest["segments"].append({"name": name, "entries": int(len(keys)), "layout": layout})
            self._write_manifest(manifest)
            self.close()
        return len(keys)

    def compact(self, live_ids: set[int] | None, force: bool = False) -> None:
        """Merge small segments (and drop dead tracks' entries) when there are too many.

        Size-tiered, as in an LSM tree: only the smallest segments are merged, so
        adding tracks to a big library rewrites a small part of it; ``force``
        merges everything (after many removals). The merge streams: memory stays
        at ``MERGE_CHUNK`` entries whatever the size of the segments.
        """
        with self._locked():
            manifest = self._read_manifest()
            segments = sorted(manifest["segments"], key=lambda s: s["entries"])
            if not force and len(segments) <= MAX_SEGMENTS:
                return
            take = segments if force else _tier_to_merge(segments)
            if len(take) < 2 and not force:
                return
            new = f"seg-{manifest['next']:06d}"
            manifest["next"] += 1
            entries, layout = merge_segments(self.folder, take, new, live_ids)
            if live_ids is not None:
                self.peaks.keep_only(live_ids)
            manifest["segments"] = [s for s in manifest["segments"] if s not in take]
            if entries:
                manifest["segments"].append({"name": new, "entries": entries, "layout": layout})
            self._write_manifest(manifest)
            self.close()
            for entry in take:
                for path in _segment_files(self.folder, entry["name"]):
                    path.unlink(missing_ok=True)


# Entries a streaming merge holds in memory at once (16 bytes each with the sort).
MERGE_CHUNK = 1 << 21
# At most this many keys per merge range, so rebuilding keys from offsets stays small.
MERGE_KEY_SPAN = 1 << 20


def _tier_to_merge(by_size: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The smallest segments, enough of them to get back under ``MAX_SEGMENTS``.

    Segments of similar size are merged together (a new small segment joins the
    small ones, not the biggest), so an entry is rewritten about log(library /
    batch) times over the library's life instead of once per added batch.
    """
    take = by_size[: len(by_size) - MAX_SEGMENTS + 2]
    total = sum(s["entries"] for s in take)
    # Pull in the next segment while it is no bigger than what is merged so far.
    for s in by_size[len(take) :]:
        if s["entries"] > total:
            break
        take.append(s)
        total += s["entries"]
    return take


def merge_segments(
    folder: Path, entries: list[dict[str, Any]], out_name: str, live_ids: set[int] | None
) -> tuple[int, str]:
    """K-way merge of segments into ``out_name`` in bounded memory; (entries, layout).

    Works in key ranges: each range's slice of every input (memory-mapped) is
    read, filtered and sorted, then appended to the output. Two passes, because
    a ``.npy`` header states its length (and the layout depends on it): the
    first counts the surviving entries, the second writes them.
    """
    segs = [_open_segment(folder, e) for e in entries]
    total = sum(len(s.vals) for s in segs)
    live = None if live_ids is None else np.fromiter(live_ids, dtype=np.int64)
    # Range boundaries: keys that split the biggest input into equal chunks.
    n_ranges = max(1, -(-total // MERGE_CHUNK))
    biggest = max(segs, key=lambda s: len(s.vals)) if segs else None
    bounds = np.zeros(0, np.int64)
    if biggest is not None and len(biggest.vals):
        step = max(1, len(biggest.vals) // n_ranges)
        at = np.arange(step, len(biggest.vals), step)
        if biggest.keys is not None:
            bounds = np.asarray(biggest.keys[at], dtype=np.int64)
        else:
            assert biggest.offs is not None
            bounds = np.searchsorted(biggest.offs, at, side="right").astype(np.int64) - 1
    top = max(
        fp.KEY_SPACE,
        max((int(s.keys[-1]) + 1 for s in segs if s.keys is not None and len(s.keys)), default=0),
    )
    edges = np.unique(np.concatenate([[0, top], bounds, np.arange(0, top, MERGE_KEY_SPAN)]))

    def chunks() -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
        for lo_key, hi_key in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
            ks, vs = [], []
            for seg in segs:
                lo, hi = (int(x) for x in seg.position(np.array([lo_key, hi_key])))
                if hi > lo:
                    ks.append(seg.keys_of(lo, hi, lo_key, hi_key))
                    vs.append(np.asarray(seg.vals[lo:hi]))
            for seg in segs:
                seg.release()
            if not ks:
                yield lo_key, hi_key, np.zeros(0, np.uint32), np.zeros(0, np.uint64)
                continue
            k, v = np.concatenate(ks), np.concatenate(vs)
            if live is not None:
                keep = np.isin(unpack_values(v).track, live)
                k, v = k[keep], v[keep]
            order = np.argsort(k, kind="stable")
            yield lo_key, hi_key, k[order], v[order]

    count = sum(len(k) for _, _, k, _ in chunks())
    if count == 0:
        return 0, "keys"
    layout = "offsets" if count >= OFFSETS_MIN_ENTRIES else "keys"
    # Plain appends, not a writable memmap: written pages then never count as ours.
    index_part, index_dtype = (
        ("offs", _offsets_dtype(count)) if layout == "offsets" else ("keys", np.uint32)
    )
    with (
        open(folder / f"{out_name}.{index_part}.npy", "wb") as fk,
        open(folder / f"{out_name}.vals.npy", "wb") as fv,
    ):
        shape = fp.KEY_SPACE + 1 if layout == "offsets" else count
        for f, dtype, n in ((fk, index_dtype, shape), (fv, np.uint64, count)):
            header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": (n,)}
            np.lib.format.write_array_header_1_0(f, header)
        written = 0
        for lo_key, hi_key, k, v in chunks():
            if layout == "offsets":
                span = np.arange(lo_key, min(hi_key, fp.KEY_SPACE), dtype=np.int64)
                starts = written + np.searchsorted(k, span, side="left")
                fk.write(starts.astype(index_dtype).tobytes())
            else:
                fk.write(k.astype(np.uint32).tobytes())
            fv.write(v.astype(np.uint64).tobytes())
            written += len(k)
        if layout == "offsets":
            fk.write(np.array([written], dtype=index_dtype).tobytes())
    return count, layout


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate ``range(s, s + c)`` for each pair, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    first = np.cumsum(counts) - counts
    return np.repeat(starts - first, counts) + np.arange(total)
