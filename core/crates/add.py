"""Job kind ``crate_add``: files or links into a chat's crate, fingerprinted and analysed."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

from core.audio.fetch import resolve_source
from core.errors import BadInput
from core.jobs.context import JobContext
from core.jobs.types import JobOutput
from core.settings import Settings
from storage.files import sha256_file

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def crate_folder(settings: Settings, crate: str) -> Path:
    """A folder name per crate that no chat id can turn into a path outside ``crates/``."""
    slug = _UNSAFE.sub("_", crate)[:60].strip("._") or "crate"
    digest = hashlib.sha256(crate.encode()).hexdigest()[:10]
    return settings.crates_dir / f"{slug}-{digest}"


def _limits_refusal(settings: Settings, tracks: int, seconds: float, size: int) -> str | None:
    if tracks > settings.crate_max_tracks:
        return f"the crate is full ({settings.crate_max_tracks} tracks at most)"
    if seconds > settings.crate_max_hours * 3600:
        return f"the crate would hold more than {settings.crate_max_hours:g} hours of music"
    if size > settings.crate_max_mb * 1e6:
        return f"the crate would hold more than {settings.crate_max_mb:g} MB of audio"
    return None


def _describe(analysis: Any) -> dict[str, Any]:
    return {
        "bpm": round(float(analysis.bpm), 2) if analysis.bpm else None,
        "bpm_alternatives": [round(float(b), 2) for b in analysis.bpm_alternatives or []],
        "key": analysis.key,
        "camelot": analysis.camelot,
    }


def _expand(sources: list[str]) -> list[str]:
    """Folders (terminal only: the layer lets no chat user name one) become their audio files."""
    from core.audio.fetch import is_url
    from core.identify.library import find_audio_files

    out: list[str] = []
    for source in sources:
        if not is_url(source) and Path(source).is_dir():
            out.extend(str(p) for p in find_audio_files([source]))
        else:
            out.append(source)
    return out


def crate_add_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    from core.identify.library import index_paths
    from core.sections.sources import analysis_for_file
    from storage.analysis import AnalysisStore
    from storage.crates import CrateStore
    from storage.library import LibraryStore

    settings, progress = ctx.settings, ctx.progress
    crate = str(params.get("crate") or "")
    sources = _expand([str(s) for s in params.get("sources") or []])
    if not crate:
        raise BadInput("crate_add needs a crate")
    if not sources:
        raise BadInput("nothing to add: attach audio files or give links")
    store = CrateStore(settings.database_url)
    library = LibraryStore(settings.database_url)
    folder = crate_folder(settings, crate)
    added: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    with AnalysisStore(settings.database_url) as analyses:
        for n, source in enumerate(sources):
            name = Path(source).name if not source.startswith("http") else source

            def step(f: float, text: str, n: int = n, name: str = name) -> None:
                progress((n + f) / len(sources), f"{Path(name).name[:40]}: {text}")

            try:
                step(0.0, "checking")
                info = resolve_source(source, ctx.workdir / f"in{n}", settings)
                sha = sha256_file(info.path)
                known = library.by_sha256(sha)
                if known is not None and known.hashes > 0 and store.holds(crate, known.id):
                    skipped.append({"source": name, "reason": "already in this crate"})
                    continue
                size = info.path.stat().st_size
                totals = store.totals(crate)
                refusal = _limits_refusal(
                    settings,
                    totals.tracks + 1,
                    totals.seconds + info.duration_s,
                    totals.size_bytes + size,
                )
                if refusal:
                    failed.append({"source": name, "reason": refusal})
                    continue
                copy = folder / sha[:16] / info.path.name
                if not copy.is_file():
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    tmp = copy.with_name(copy.name + ".part")
                    shutil.copyfile(info.path, tmp)
                    tmp.replace(copy)
                step(0.2, "fingerprinting")
                report = index_paths(settings, [copy], in_library=False)
                if report.failed:
                    raise BadInput(report.failed[0][1])
                track_id = report.added[0][0] if report.added else report.known[0][0]
                step(0.5, "analysing")
                analysis = analysis_for_file(
                    copy, settings, analyses, lambda f, t: step(0.5 + 0.5 * f, t)
                )
                store.add(crate, track_id, str(copy), size, str(params.get("added_by") or ""))
                info_row = library.get_many([track_id])[track_id]
                added.append(
                    {
                        "artist": info_row.artist,
                        "title": info_row.title,
                        "duration_s": round(info_row.duration_s, 1),
                        **_describe(analysis),
                    }
                )
            except BadInput as exc:
                failed.append({"source": name, "reason": str(exc)})
    totals = store.totals(crate)
    progress(1.0, f"{len(added)} added")
    if not added and failed and not skipped:
        raise BadInput("; ".join(f"{Path(f['source']).name}: {f['reason']}" for f in failed))
    return JobOutput(
        result={
            "crate": crate,
            "added": added,
            "skipped": skipped,
            "failed": failed,
            "totals": {
                "tracks": totals.tracks,
                "hours": round(totals.seconds / 3600, 2),
                "size_mb": round(totals.size_bytes / 1e6, 1),
            },
        },
        files=[],
    )
