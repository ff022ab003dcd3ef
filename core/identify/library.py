"""Adding audio files to the local library: discovery, metadata, fingerprints, storage."""

from __future__ import annotations

import contextlib
import csv
import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.audio import decode_blocks, probe_audio
from core.errors import BadInput
from core.identify import fingerprint as fp
from core.identify.index import MAX_FRAMES, FingerprintIndex
from core.settings import Settings
from storage.files import sha256_file

if TYPE_CHECKING:
    from storage.library import LibraryStore

AUDIO_SUFFIXES = {
    ".mp3",
    ".flac",
    ".wav",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".aif",
    ".aiff",
    ".wma",
    ".alac",
    ".mp4",
    ".webm",
    ".mka",
}
# Fingerprints of this many tracks are written together as one index segment.
SEGMENT_TRACKS = 200
INDEX_THREADS = 2  # files fingerprinted at once by `cratebot index` (this machine: 2 cores)


@dataclass
class IndexReport:
    added: list[tuple[int, str, str | None, str | None]]
    skipped: list[tuple[str, str]]  # (path, reason)
    failed: list[tuple[str, str]]
    # (track id, path) of files whose content was already indexed (skipped or re-listed)
    known: list[tuple[int, str]] = field(default_factory=list)


def index_folder(settings: Settings) -> Path:
    return settings.library_dir / "fingerprints"


def open_index(settings: Settings) -> FingerprintIndex:
    return FingerprintIndex(index_folder(settings))


def find_audio_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus audio files found in named folders (recursively)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise BadInput(f"{raw}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for p in found:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(r)
    return unique


def load_metadata(path: Path) -> dict[str, tuple[str | None, str | None]]:
    """``--metadata``: a JSON list or CSV with columns file, artist, title."""
    if not path.is_file():
        raise BadInput(f"{path}: no such metadata file")
    text = path.read_text(encoding="utf-8-sig")
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadInput(f"{path.name}: expected a JSON list of objects with file/artist/title")
    else:
        rows = list(csv.DictReader(text.splitlines()))
    out: dict[str, tuple[str | None, str | None]] = {}
    for i, row in enumerate(rows, start=1):
        name = row.get("file")
        if not name:
            raise BadInput(f"{path.name}: entry {i} has no 'file'")
        out[Path(str(name)).name] = (row.get("artist") or None, row.get("title") or None)
    return out


def _tags(path: Path) -> tuple[str | None, str | None]:
    try:
        import mutagen

        tags = mutagen.File(path, easy=True)
    except Exception:  # a file mutagen cannot parse simply has no tags for us
        return None, None
    if tags is None:
        return None, None

    def first(key: str) -> str | None:
        value = tags.get(key)
        if isinstance(value, list) and value:
            return str(value[0]).strip() or None
        return None

    return first("artist"), first("title")


def names_from_filename(path: Path) -> tuple[str | None, str | None]:
    """``Artist - Title`` or ``Artist--Title`` (underscores read as spaces)."""
    stem = path.stem
    for sep in ("--", " - ", " – ", " — "):
        if sep in stem:
            artist, title = stem.split(sep, 1)
            artist = re.sub(r"\s+", " ", artist.replace("_", " ")).strip()
            title = re.sub(r"\s+", " ", title.replace("_", " ")).strip()
            return artist or None, title or None
    return None, re.sub(r"\s+", " ", stem.replace("_", " ")).strip() or None


def describe(
    path: Path, metadata: dict[str, tuple[str | None, str | None]]
) -> tuple[str | None, str | None]:
    if path.name in metadata:
        return metadata[path.name]
    artist, title = _tags(path)
    if artist and title:
        return artist, title
    f_artist, f_title = names_from_filename(path)
    return artist or f_artist, title or f_title


def index_paths(
    settings: Settings,
    paths: Iterable[str | Path],
    metadata_file: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
    in_library: bool = True,
) -> IndexReport:
    """Add audio files to the library; files already there (same content) are skipped.

    ``in_library=False`` fingerprints for a chat's crate only (``core.crates``): the
    tracks stay out of the operator's library.
    """
    from storage.library import LibraryStore

    settings.ensure_dirs()
    metadata = load_metadata(metadata_file) if metadata_file else {}
    files = find_audio_files(paths)
    store = LibraryStore(settings.database_url)
    index = open_index(settings)
    report = IndexReport([], [], [])
    if not index.is_current():
        report.failed.extend(rebuild_index(store, index, progress))
    batch: list[tuple[int, fp.Fingerprint]] = []

    def flush() -> None:
        _write_batch(index, store, batch)

    # Two files are fingerprinted at once: within a file ffmpeg is the slower side
    # (the reader waits on it), so a second file's decoder keeps both cores busy.
    shas: dict[int, str] = {}
    ahead: dict[int, Future[fp.Fingerprint]] = {}
    # Peaks of files indexed before the index kept them (verify.py), made ahead too.
    ahead_peaks: dict[int, Future[fp.Peaks]] = {}

    def sha_of(k: int) -> str:
        if k not in shas:
            shas[k] = sha256_file(files[k])
        return shas[k]

    def start(k: int) -> None:
        """Fingerprint file ``k`` on the pool, unless the library already has its content."""
        if k >= len(files) or k in ahead or k in ahead_peaks:
            return
        try:
            known = store.by_sha256(sha_of(k))
        except OSError:
            return  # reported when the loop reaches it
        if known is None:
            ahead[k] = pool.submit(_fingerprint_file, files[k], settings)
        elif known.hashes > 0 and not index.peaks.has(known.id):
            ahead_peaks[k] = pool.submit(_peaks_of_file, files[k])

    pool = ThreadPoolExecutor(max_workers=INDEX_THREADS, thread_name_prefix="index")
    try:
        for n, path in enumerate(files):
            if progress:
                progress(n / max(len(files), 1), f"indexing {path.name}")
            try:
                sha = sha_of(n)
                existing = store.by_sha256(sha)
                if existing is not None and existing.hashes > 0:
                    report.known.append((existing.id, str(path)))
                    if not index.peaks.has(existing.id):
                        # Indexed before the index kept peaks: add them (verify.py);
                        # a file that no longer decodes keeps its hashes alone.
                        if n not in ahead_peaks:
                            ahead_peaks[n] = pool.submit(_peaks_of_file, path)
                        start(n + 1)
                        with contextlib.suppress(BadInput):
                            index.peaks.write(existing.id, ahead_peaks.pop(n).result())
                    if in_library and not store.is_in_library(existing.id):
                        # Known from a chat's crate: now the operator's too, same fingerprints.
                        store.set_in_library(existing.id, True)
                        report.added.append(
                            (existing.id, str(path), existing.artist, existing.title)
                        )
                    else:
                        report.skipped.append((str(path), f"already indexed as #{existing.id}"))
                    continue
                if existing is not None:  # an earlier run died before its index was written
                    store.remove([existing.id])
                if n not in ahead:
                    ahead[n] = pool.submit(_fingerprint_file, path, settings)
                start(n + 1)
                print_ = ahead.pop(n).result()
            except BadInput as exc:
                report.failed.append((str(path), str(exc)))
                continue
            finally:
                shas.pop(n, None)
                for speculative in (ahead.pop(n, None), ahead_peaks.pop(n, None)):
                    if speculative is not None:
                        speculative.cancel()  # a skipped file's work made ahead
            # A changed file at the same path replaces its old entry.
            stale = [t.id for t in store.by_path(str(path))]
            if stale:
                store.remove(stale)
            artist, title = describe(path, metadata)
            track_id = store.add(str(path), sha, artist, title, print_.duration_s, 0, in_library)
            batch.append((track_id, print_))
            report.added.append((track_id, str(path), artist, title))
            if len(batch) >= SEGMENT_TRACKS:
                flush()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    flush()
    index.compact(set(store.indexed_ids()))
    if progress:
        progress(1.0, f"indexed {len(report.added)} file(s)")
    return report


def _fingerprint_file(path: Path, settings: Settings) -> fp.Fingerprint:
    info = probe_audio(path, settings.max_duration_s, settings.max_download_bytes)
    if info.duration_s > MAX_FRAMES * fp.FRAME_S:
        raise BadInput(f"{path.name}: longer than {MAX_FRAMES * fp.FRAME_S / 3600:.1f} h")
    print_ = fp.reference_fingerprint(decode_blocks(path, fp.SAMPLE_RATE, 1))
    if len(print_.keys) == 0:
        raise BadInput(f"{path.name}: no usable audio (silent?)")
    return print_


def _peaks_of_file(path: Path) -> fp.Peaks:
    return fp.peaks_from_blocks(decode_blocks(path, fp.SAMPLE_RATE, 1))[0]


def _write_batch(
    index: FingerprintIndex, store: LibraryStore, batch: list[tuple[int, fp.Fingerprint]]
) -> None:
    """Add fingerprinted tracks to the index, then record their hash counts (and empty it)."""
    if batch:
        index.add(batch)
        for track_id, print_ in batch:
            store.set_hashes(track_id, len(print_.keys))
        batch.clear()


def rebuild_index(
    store: LibraryStore,
    index: FingerprintIndex,
    progress: Callable[[float, str], None] | None = None,
) -> list[tuple[str, str]]:
    """Fingerprint every indexed track again from its file, into a fresh index.

    An upgrade that changes the hashes leaves an index the new code cannot
    read; the database still knows every track's file. A track whose file is
    gone or changed is marked unindexed (so indexing that file again adds it
    back) and reported. Returns ``(path, reason)`` of those.
    """
    index.reset()
    tracks = store.get_many(store.indexed_ids())
    failed: list[tuple[str, str]] = []
    batch: list[tuple[int, fp.Fingerprint]] = []

    def flush() -> None:
        _write_batch(index, store, batch)

    for n, (track_id, info) in enumerate(sorted(tracks.items())):
        if progress:
            progress(n / max(len(tracks), 1), f"rebuilding the index: {Path(info.path).name}")
        path = Path(info.path)
        try:
            if not path.is_file() or sha256_file(path) != info.sha256:
                raise BadInput(f"{path.name}: the file is gone or changed; index it again")
            print_ = fp.reference_fingerprint(decode_blocks(path, fp.SAMPLE_RATE, 1))
        except BadInput as exc:
            store.set_hashes(track_id, 0)
            failed.append((info.path, f"rebuilding the index: {exc}"))
            continue
        batch.append((track_id, print_))
        if len(batch) >= SEGMENT_TRACKS:
            flush()
    flush()
    index.compact(set(store.indexed_ids()))
    return failed


def remove_tracks(settings: Settings, ids: Iterable[int]) -> int:
    from storage.library import LibraryStore

    store = LibraryStore(settings.database_url)
    ids = list(ids)
    # A track a chat's crate still holds only leaves the operator's library.
    kept = store.held_by_crates(ids)
    for track_id in kept:
        store.set_in_library(track_id, False)
    removed = store.remove([i for i in ids if i not in kept]) + len(kept)
    if removed > len(kept):
        index = open_index(settings)
        live = set(store.indexed_ids())
        all_ids = len(live) + removed
        # Rewrite the index once a quarter of it belongs to removed tracks.
        if not live or removed / max(all_ids, 1) > 0.25:
            index.compact(live, force=True)
    return removed
