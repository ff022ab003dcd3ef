"""Finished jobs as plain replies: text for any chat, files and images to deliver."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.commands.api import Link, Reply, ResultFile, TrackRow
from core.identify.outputs import clock
from core.jobs.runner import JobView
from core.jobs.types import JobState

MAX_LISTED = 40  # lines of a tracklist or file list before "... and N more"

UrlFor = Callable[[str, str], str | None]


def split_lines(text: str, limit: int) -> list[str]:
    """Split at line breaks into pieces of at most ``limit`` characters (chat message limits);
    a line longer than ``limit`` is cut hard. Whitespace-only pieces are dropped."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines():
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def result_file(results_dir: Path, job_id: str, name: str, url_for: UrlFor) -> ResultFile | None:
    path = results_dir / job_id / name
    if not path.is_file():
        return None
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return ResultFile(job_id, name, path, path.stat().st_size, kind, url_for(job_id, name))


def _tracks(result: dict[str, Any]) -> tuple[TrackRow, ...]:
    rows = []
    for entry in result.get("tracks") or []:
        recognizer = entry.get("recognizer") or ""
        rows.append(
            TrackRow(
                float(entry.get("start", 0.0)),
                float(entry.get("end", 0.0)),
                entry.get("artist"),
                entry.get("title"),
                entry.get("confidence"),
                tuple(r for r in recognizer.split("+") if r),
                entry.get("speed"),
            )
        )
    return tuple(rows)


def _listed(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LISTED:
        return lines
    return lines[:MAX_LISTED] + [f"... and {len(lines) - MAX_LISTED} more"]


def render_identify(view: JobView, result: dict[str, Any], files: dict[str, ResultFile]) -> Reply:
    tracks = _tracks(result)
    known = sum(1 for t in tracks if t.title)
    origins = [entry.get("matched_in") for entry in result.get("tracks") or []]
    lines = []
    for t, origin in zip(tracks, origins, strict=True):
        line = f"{clock(t.start_s)}  {t.label}"
        if t.speed_text:
            line += f"  [{t.speed_text}]"
        if origin and t.title:
            line += f"  ({origin})"
        lines.append(line)
    lines = _listed(lines)
    lines += [f"note: {n}" for n in result.get("notes") or []]
    if not tracks:
        lines.append("no tracks found")
    return Reply(
        text="\n".join(lines),
        title=f"Tracklist ({known} of {len(tracks)} identified)",
        job_id=view.id,
        tracks=tracks,
        files=tuple(files[n] for n in ("tracklist.cue", "tracklist.json") if n in files),
        images=tuple(files[n] for n in ("timeline.png",) if n in files),
        data=result,
    )


def render_stems(view: JobView, result: dict[str, Any], files: dict[str, ResultFile]) -> Reply:
    zip_name = result.get("zip")
    parts = [f for name, f in files.items() if name != zip_name and name != "manifest.json"]
    lines = [f"{f.name} ({size_text(f.size_bytes)})" for f in parts]
    primary = [files[zip_name]] if zip_name in files else parts
    links = tuple(Link(f.name, f.url) for f in parts if f.url)
    return Reply(
        text="\n".join(_listed(lines)) or "no stems written",
        title=f"Stems ({len(parts)} files)",
        job_id=view.id,
        files=tuple(primary),
        links=links,
        data=result,
    )


def _library_note(row: dict[str, Any]) -> str:
    """Which of the DJ's library values were used: " (rekordbox: bpm, key, grid)"."""
    if not row.get("dj_library"):
        return ""
    return f" ({row['dj_library']}: {', '.join(str(f) for f in row.get('rekordbox') or [])})"


def tempo_alternatives_text(alternatives: list[float] | None, chosen: bool = False) -> str:
    """`` (or 174)`` for an ambiguous tempo; `` (alternative tempo; analysed as 87)`` when a
    request chose an alternative (the first entry is then the analysed tempo)."""
    if not alternatives:
        return ""
    if chosen:
        return f" (alternative tempo; analysed as {round(float(alternatives[0]), 1):g})"
    return f" (or {' or '.join(f'{round(float(b), 1):g}' for b in alternatives)})"


def _tempo_note(row: dict[str, Any]) -> str:
    return tempo_alternatives_text(row.get("bpm_alternatives"), bool(row.get("alternative_tempo")))


def render_sections(view: JobView, result: dict[str, Any], files: dict[str, ResultFile]) -> Reply:
    selected = result.get("selected") or []
    skipped = result.get("skipped") or []
    lines = [
        f"{Path(s.get('path', '?')).name}: {float(s.get('bpm') or 0):.1f} BPM"
        f"{_tempo_note(s)}"
        f"{' ' + s['key'] if s.get('key') else ''} -> {float(s.get('target_bpm') or 0):.1f}"
        f"{_library_note(s)}"
        for s in selected
    ]
    lines += [f"skipped {Path(s.get('path', '?')).name}: {s.get('reason')}" for s in skipped]
    ordered = [files[n] for n in (result.get("zip"), result.get("csv")) if n in files]
    return Reply(
        text="\n".join(_listed(lines)),
        title=f"{result.get('count', len(selected))} section(s) at {result.get('target_bpm')} BPM",
        job_id=view.id,
        files=tuple(ordered),
        data=result,
    )


def render_generic(view: JobView, result: dict[str, Any], files: dict[str, ResultFile]) -> Reply:
    lines = [f"{f.name} ({size_text(f.size_bytes)})" for f in files.values()]
    return Reply(
        text="\n".join(_listed(lines)) or "done",
        title=f"{view.kind} done",
        job_id=view.id,
        files=tuple(files.values()),
        data=result,
    )


Renderer = Callable[[JobView, dict[str, Any], dict[str, ResultFile]], Reply]


def render(
    view: JobView, results_dir: Path, url_for: UrlFor, renderer: Renderer | None = None
) -> Reply:
    """The reply for a job as it stands; a succeeded job's by ``renderer`` (its command's)."""
    if view.state == JobState.FAILED:
        return Reply(
            text=f"{view.kind} job {view.id} failed: {view.error or 'unknown error'}",
            error=True,
            job_id=view.id,
            title=f"{view.kind} failed",
        )
    if view.state == JobState.CANCELLED:
        return Reply(
            text=f"{view.kind} job {view.id} was cancelled",
            error=True,
            job_id=view.id,
            title=f"{view.kind} cancelled",
        )
    if view.state != JobState.SUCCEEDED:
        return Reply(text=f"{view.kind} job {view.id} is {view.state.value}", job_id=view.id)
    result = dict(view.result or {})
    files: dict[str, ResultFile] = {}
    for name in view.files:
        item = result_file(results_dir, view.id, name, url_for)
        if item is not None:
            files[name] = item
    if view.files and not files:
        return Reply(
            text=f"the results of job {view.id} have expired; run the command again",
            error=True,
            job_id=view.id,
        )
    return (renderer or render_generic)(view, result, files)
