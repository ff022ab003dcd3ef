"""The fingerprint index: sorted, memory-mapped segments of (hash key, packed value).

Layout under ``folder`` (``settings.library_dir / "fingerprints"``)::

    manifest.json          segments in use and the fingerprint version
    seg-000001.keys.npy    uint32 hash keys, sorted
    seg-000001.vals.npy    uint64 packed (track id, anchor frame, dt13, anchor bin)

Each entry costs 12 bytes; at ~52 hashes per second of audio that is about
2.2 MB per hour of reference audio. Segments are immutable and memory-mapped,
so a lookup touches only the pages of the keys it asks for and a 1000-hour
library does not have to fit in a process's memory. New tracks arrive as a new
segment; small segments are merged (an LSM-style tiering) so a lookup never
binary-searches more than ``MAX_SEGMENTS`` arrays. Removing a track only drops
it from the database: lookups ignore track ids that are not live, and the next
merge leaves their entries behind.
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

# Bump when hashes change meaning: an old index must then be rebuilt.
FINGERPRINT_VERSION = (
    f"triplet-v1/{fp.SAMPLE_RATE}/{fp.HOP}/{fp.BINS_PER_OCTAVE}/{fp.R_LEVELS}/{fp.DF_STEP}/"
    f"{fp.F1_BAND}/{fp.DT_LOG_STEP}/{fp.DT13_MIN}/{fp.REF_FANOUT}"
)
MAX_SEGMENTS = 6

_TRACK_BITS, _T_BITS, _DT_BITS, _F_BITS = 28, 20, 7, 9
MAX_TRACK_ID = (1 << _TRACK_BITS) - 1
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


class _Mapped:
    """A read-only ``.npy`` array mapped from disk whose pages can be handed back.

    Mapped pages a lookup touched count in the process's RSS; against a
    1000-hour index (2 GB) that would pass any memory budget. ``release`` drops
    them from this process (they stay in the page cache, so touching them again
    is cheap). Our own ``mmap`` rather than ``np.load(mmap_mode=...)`` because
    numpy does not expose its mapping to ``madvise``.
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
        self.array: np.ndarray = (
            np.frombuffer(self._mmap, dtype=dtype, count=count, offset=offset)
            if self._mmap is not None
            else np.zeros(0, dtype=dtype)
        )

    def release(self) -> None:
        if self._mmap is not None and hasattr(mmap, "MADV_DONTNEED"):
            self._mmap.madvise(mmap.MADV_DONTNEED)


@dataclass
class _Segment:
    name: str
    keys: np.ndarray
    vals: np.ndarray
    maps: tuple[_Mapped, ...] = ()

    def release(self) -> None:
        for m in self.maps:
            m.release()


# Above this much mapped index, lookups hand touched pages back after each call.
RELEASE_BYTES = 128 << 20


class FingerprintIndex:
    """Read and extend the on-disk index. Writers serialise on a lock file."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._segments: list[_Segment] | None = None

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
                f"delete {self.folder} and run `cratebot index` again"
            )
        return manifest

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
            segments = []
            for entry in manifest["segments"]:
                name = entry["name"]
                keys = _Mapped(self.folder / f"{name}.keys.npy")
                vals = _Mapped(self.folder / f"{name}.vals.npy")
                segments.append(_Segment(name, keys.array, vals.array, (keys, vals)))
            self._segments = segments
        return self._segments

    def close(self) -> None:
        self._segments = None

    @property
    def entries(self) -> int:
        return sum(len(s.keys) for s in self._open())

    def size_bytes(self) -> int:
        return sum(s.keys.nbytes + s.vals.nbytes for s in self._open())

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Entries stored under ``keys``: ``(probe index, packed value)`` arrays."""
        parts = list(self.lookup_chunks(keys))
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.uint64)
        return np.concatenate([p for p, _ in parts]), np.concatenate([v for _, v in parts])

    def lookup_chunks(
        self, keys: np.ndarray, max_hits: int = 1 << 16
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``lookup`` in pieces of at most about ``max_hits`` entries.

        Against a big library a probe returns hundreds of entries; a caller
        that filters each piece keeps its memory bounded whatever the size.
        Probes go in key order, a block at a time, and a big index's pages are
        handed back after each piece, so the pages resident at once are those
        of one block's key range and one piece's entries.
        """
        keys = np.asarray(keys, dtype=np.uint32)
        # Sorted probes make the binary searches walk the index in one direction.
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        release = self.size_bytes() > RELEASE_BYTES
        block = 4096 if release else max(len(keys), 1)
        for seg in self._open():
            for start in range(0, len(sorted_keys), block):
                probes = sorted_keys[start : start + block]
                lo = np.searchsorted(seg.keys, probes, side="left")
                hi = np.searchsorted(seg.keys, probes, side="right")
                cnt = hi - lo
                hits = np.nonzero(cnt)[0]
                if len(hits) == 0:
                    continue
                cnt = cnt[hits]
                piece_no = np.cumsum(cnt) // max_hits
                edges = np.concatenate([[0], np.flatnonzero(np.diff(piece_no)) + 1, [len(hits)]])
                for a, b in zip(edges[:-1], edges[1:], strict=True):
                    h, c = hits[a:b], cnt[a:b]
                    # copies (fancy indexing), so the pages can go at once
                    piece = np.repeat(order[start + h], c), seg.vals[_expand(lo[h], c)]
                    if release:
                        seg.release()
                    yield piece

    # -- writing ----------------------------------------------------------------
    def add(self, items: Iterable[tuple[int, fp.Fingerprint]]) -> int:
        """Add fingerprints of tracks (by database id) as one new segment."""
        keys_parts, vals_parts = [], []
        for track_id, print_ in items:
            if not 0 < track_id <= MAX_TRACK_ID:
                raise ValueError(f"track id {track_id} out of range")
            ok = print_.t1 <= MAX_FRAMES
            keys_parts.append(print_.keys[ok])
            vals_parts.append(pack_values(track_id, print_.t1[ok], print_.dt13[ok], print_.f1[ok]))
        if not keys_parts:
            return 0
        keys = np.concatenate(keys_parts)
        vals = np.concatenate(vals_parts)
        with self._locked():
            manifest = self._read_manifest()
            self._write_segment(manifest, keys, vals)
            self._write_manifest(manifest)
            self.close()
        return len(keys)

    def _write_segment(self, manifest: dict[str, Any], keys: np.ndarray, vals: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        name = f"seg-{manifest['next']:06d}"
        manifest["next"] += 1
        np.save(self.folder / f"{name}.keys.npy", keys[order].astype(np.uint32))
        np.save(self.folder / f"{name}.vals.npy", vals[order].astype(np.uint64))
        manifest["segments"].append({"name": name, "entries": int(len(keys))})

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
            names = [entry["name"] for entry in take]
            new = f"seg-{manifest['next']:06d}"
            manifest["next"] += 1
            entries = merge_segments(self.folder, names, new, live_ids)
            manifest["segments"] = [s for s in manifest["segments"] if s not in take]
            if entries:
                manifest["segments"].append({"name": new, "entries": entries})
            self._write_manifest(manifest)
            for name in names:
                for suffix in (".keys.npy", ".vals.npy"):
                    (self.folder / f"{name}{suffix}").unlink(missing_ok=True)
            self.close()


# Entries a streaming merge holds in memory at once (16 bytes each with the sort).
MERGE_CHUNK = 1 << 21


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


def merge_segments(folder: Path, names: list[str], out_name: str, live_ids: set[int] | None) -> int:
    """K-way merge of sorted segments into ``out_name`` in bounded memory; entry count.

    Works in key ranges: each range's slice of every input (memory-mapped) is
    read, filtered and sorted, then appended to the output. Two passes, because
    a ``.npy`` header states its length: the first counts the surviving entries,
    the second writes them.
    """
    maps = [_Mapped(folder / f"{n}.{part}.npy") for n in names for part in ("keys", "vals")]
    keys_in = [m.array for m in maps[0::2]]
    vals_in = [m.array for m in maps[1::2]]
    total = sum(len(k) for k in keys_in)
    live = None if live_ids is None else np.fromiter(live_ids, dtype=np.int64)
    # Range boundaries: keys that split the biggest input into equal chunks.
    biggest = max(keys_in, key=len) if keys_in else np.zeros(0, np.uint32)
    n_ranges = max(1, -(-total // MERGE_CHUNK))
    step = max(1, len(biggest) // n_ranges)
    bounds = np.unique(np.asarray(biggest[step::step], dtype=np.int64))
    edges = np.concatenate([[0], bounds, [1 << 32]])

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for lo_key, hi_key in zip(edges[:-1], edges[1:], strict=True):
            ks, vs = [], []
            for keys, vals in zip(keys_in, vals_in, strict=True):
                lo = int(np.searchsorted(keys, lo_key, side="left"))
                hi = int(np.searchsorted(keys, hi_key, side="left"))
                if hi > lo:
                    ks.append(np.asarray(keys[lo:hi]))
                    vs.append(np.asarray(vals[lo:hi]))
            if not ks:
                continue
            k, v = np.concatenate(ks), np.concatenate(vs)
            for m in maps:
                m.release()
            if live is not None:
                keep = np.isin(unpack_values(v).track, live)
                k, v = k[keep], v[keep]
            order = np.argsort(k, kind="stable")
            yield k[order], v[order]

    count = sum(len(k) for k, _ in chunks())
    if count == 0:
        return 0
    # Plain appends, not a writable memmap: written pages then never count as ours.
    with (
        open(folder / f"{out_name}.keys.npy", "wb") as fk,
        open(folder / f"{out_name}.vals.npy", "wb") as fv,
    ):
        for f, dtype in ((fk, np.uint32), (fv, np.uint64)):
            header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": (count,)}
            np.lib.format.write_array_header_1_0(f, header)
        for k, v in chunks():
            fk.write(k.astype(np.uint32).tobytes())
            fv.write(v.astype(np.uint64).tobytes())
    return count


def _expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate ``range(s, s + c)`` for each pair, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    first = np.cumsum(counts) - counts
    return np.repeat(starts - first, counts) + np.arange(total)
