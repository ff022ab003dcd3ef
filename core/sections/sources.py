"""Where a sections request's tracks come from: files, the analysis library, or JSONs.

Local files are analysed once and the analysis is stored under the file's
absolute path and sha256; a later request reuses it while the content is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core.analysis.analyze import analyze_track
from core.analysis.model import ANALYZER_VERSION, TrackAnalysis, load_struct_dir
from core.audio.fetch import is_url, local_path, resolve_source
from core.audio.probe import check_local_file
from core.errors import BadInput
from core.settings import Settings
from storage.files import sha256_file

AUDIO_SUFFIXES = frozenset(
    {
        ".mp3",
        ".wav",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".aac",
        ".aif",
        ".aiff",
        ".wma",
        ".mp4",
        ".webm",
        ".mka",
        ".alac",
    }
)

ProgressFn = Callable[[float, str], None]


@dataclass
class Candidate:
    analysis: TrackAnalysis
    audio: Path | None  # the file to cut from; None when it cannot be found


def expand_paths(sources: Iterable[str]) -> list[str]:
    """Folders become the audio files inside them (recursively, sorted); URLs pass through."""
    out: list[str] = []
    for source in sources:
        if is_url(source):
            out.append(source)
            continue
        path = local_path(source)
        try:
            is_dir = path.is_dir()
        except OSError:
            is_dir = False  # the file check later names what is wrong with the path
        if is_dir:
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
            )
            if not found:
                raise BadInput(f"{path}: the folder holds no audio files")
            out.extend(str(p) for p in found)
        else:
            out.append(str(path))
    return out


def analysis_for_file(
    path: Path, settings: Settings, store: object | None, progress: ProgressFn | None = None
) -> TrackAnalysis:
    """The stored analysis of ``path`` if its content is unchanged, else a fresh (stored) one."""
    check_local_file(path.expanduser())  # a specific message for loops, long names, ...
    path = path.expanduser().resolve()
    sha = None
    if store is not None and path.is_file():
        sha = sha256_file(path)
        cached = store.get(path, sha)  # type: ignore[attr-defined]
        # An analysis by an older analyser version is redone (tempo and key improved).
        if cached is not None and cached.get("analyzer") == ANALYZER_VERSION:
            return TrackAnalysis.from_struct(cached, path.name)
    analysis = analyze_track(
        path, progress, settings.max_duration_s, settings.max_download_bytes, sha256=sha
    )
    if store is not None:
        store.save(analysis.to_struct())  # type: ignore[attr-defined]
    return analysis


def from_sources(
    sources: list[str],
    workdir: Path,
    settings: Settings,
    store: object | None,
    progress: ProgressFn,
) -> list[Candidate]:
    candidates = []
    for n, source in enumerate(sources):

        def step(fraction: float, text: str, n: int = n, name: str = Path(source).name) -> None:
            progress((n + fraction) / len(sources), f"{name}: {text}")

        if is_url(source):
            info = resolve_source(source, workdir / f"download-{n}", settings, step)
            # Downloads vanish with the workdir: analyse, but do not store them.
            analysis = analysis_for_file(info.path, settings, None, step)
        else:
            analysis = analysis_for_file(Path(source), settings, store, step)
        candidates.append(Candidate(analysis, Path(analysis.path)))
    return candidates


def from_library(store: object) -> list[Candidate]:
    rows = store.all()  # type: ignore[attr-defined]
    if not rows:
        raise BadInput("the library holds no analysed tracks yet; run `cratebot analyze` first")
    out = []
    for row in rows:
        analysis = TrackAnalysis.from_struct(row, str(row.get("path")))
        audio = Path(analysis.path)
        out.append(Candidate(analysis, audio if audio.is_file() else None))
    return out


def from_struct_dir(folder: Path, audio_dir: Path | None = None) -> list[Candidate]:
    """All-in-one JSONs; audio is found at their ``path``, else by file name in ``audio_dir``,
    the JSON folder or its parent (Crowdstream keeps ``struct/`` next to the audio)."""
    folder = Path(folder).expanduser()
    out = []
    for analysis in load_struct_dir(folder):
        name = Path(analysis.path.replace("\\", "/")).name
        places = [Path(analysis.path).expanduser()]
        places += [d / name for d in (audio_dir, folder, folder.parent) if d is not None]
        audio = next((p.resolve() for p in places if p.is_file()), None)
        out.append(Candidate(analysis, audio))
    return out
