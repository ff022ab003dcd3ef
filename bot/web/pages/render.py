"""Turning a job and its result files into the HTML of its page."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.commands.links import sign_path
from core.identify.outputs import clock
from core.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Below this a match is shown as doubtful: a few aligned hashes, or a service's guess.
DOUBTFUL_CONFIDENCE = 0.35
AUDIO_SUFFIXES = {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".opus"}


@functools.cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    env.filters["mb"] = human_size
    return env


def human_size(n: int | None) -> str:
    n = int(n or 0)
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1e3:.0f} kB"
    return f"{n / 1e6:.1f} MB"


@dataclass(frozen=True)
class FileLink:
    name: str
    size: int
    url: str

    @property
    def is_audio(self) -> bool:
        return Path(self.name).suffix.lower() in AUDIO_SUFFIXES


def _links(settings: Settings, key: bytes, job_id: str, files: list[Any]) -> list[FileLink]:
    # Relative links: the page works under whatever host name the browser used.
    return [
        FileLink(f.name, int(f.size_bytes), sign_path(key, job_id, f.name, settings.link_ttl_s))
        for f in sorted(files, key=lambda f: f.name)
    ]


def _speed_text(speed: float | None) -> str:
    if speed is None or abs(speed - 1.0) < 0.005:
        return ""
    return f"{(speed - 1) * 100:+.1f}%"


def identify_view(result: dict[str, Any]) -> dict[str, Any]:
    duration = max(float(result.get("duration_s") or 0.0), 1.0)
    rows = []
    for i, entry in enumerate(result.get("tracks") or []):
        known = entry.get("title") is not None or entry.get("artist") is not None
        confidence = float(entry.get("confidence") or 0.0)
        rows.append(
            {
                "n": i + 1,
                "start": float(entry.get("start") or 0.0),
                "end": float(entry.get("end") or 0.0),
                "artist": entry.get("artist"),
                "title": entry.get("title"),
                "known": known,
                "speed": _speed_text(entry.get("speed")),
                "confidence": confidence,
                "recognizer": entry.get("recognizer") or "",
                "matched_in": entry.get("matched_in") or "",
                "doubtful": known and confidence < DOUBTFUL_CONFIDENCE,
                "alternatives": entry.get("alternatives") or [],
                "left": 100.0 * float(entry.get("start") or 0.0) / duration,
                "width": max(
                    0.4,
                    100.0
                    * (float(entry.get("end") or 0.0) - float(entry.get("start") or 0.0))
                    / duration,
                ),
            }
        )
    ticks = []
    step = next((s for s in (30, 60, 120, 300, 600, 900, 1800, 3600) if duration / s <= 10), 7200)
    for t in range(0, int(duration) + 1, step):
        ticks.append({"left": 100.0 * t / duration, "label": clock(t)})
    return {
        "duration": duration,
        "rows": rows,
        "ticks": ticks,
        "identified": sum(1 for r in rows if r["known"]),
        "doubtful": sum(1 for r in rows if r["doubtful"]),
        "notes": result.get("notes") or [],
    }


def stems_view(result: dict[str, Any], links: list[FileLink]) -> dict[str, Any]:
    manifest = result.get("manifest") or {}
    kinds = {f.get("file"): f for f in manifest.get("files") or []}
    by_name = {link.name: link for link in links}
    lanes = []
    for name in result.get("files") or []:
        info = kinds.get(name, {})
        link = by_name.get(name)
        if link is None or not link.is_audio:
            continue
        lanes.append(
            {
                "name": Path(name).stem,
                "file": name,
                "url": link.url,
                "kind": info.get("kind", "stem"),
                "lufs": info.get("integrated_lufs"),
            }
        )
    model = (manifest.get("model") or {}).get("name", "")
    return {"lanes": lanes, "model": model, "input": (manifest.get("input") or {}).get("file", "")}


def sections_view(result: dict[str, Any], links: list[FileLink]) -> dict[str, Any]:
    by_name = {link.name: link for link in links}
    parts = []
    for row in result.get("selected") or []:
        part = by_name.get(str(row.get("part_file", "")))
        orig = by_name.get(str(row.get("part_file_orig", "")))
        parts.append(
            {
                "name": Path(str(row.get("path", ""))).name,
                "bpm": row.get("bpm"),
                "target_bpm": row.get("target_bpm"),
                "key": row.get("key") or "",
                "camelot": row.get("camelot") or "",
                "speed": row.get("speed"),
                "ini": row.get("ini_cue"),
                "end": row.get("end_cue"),
                "part": part,
                "orig": orig,
            }
        )
    return {
        "parts": parts,
        "skipped": result.get("skipped") or [],
        "csv": by_name.get(str(result.get("csv", ""))),
        "zip": by_name.get(str(result.get("zip", ""))),
    }


def render_page(
    settings: Settings, key: bytes, job: Any, files: list[Any], page_query: str = ""
) -> str:
    links = _links(settings, key, job.id, files)
    result = job.result or {}
    context: dict[str, Any] = {
        "job": {
            "id": job.id,
            "kind": job.kind,
            "state": job.state,
            "progress": round(100 * float(job.progress or 0.0)),
            "progress_text": job.progress_text or "",
            "error": (job.error or "").strip().splitlines()[0] if job.error else "",
            "created": job.created_at.strftime("%Y-%m-%d %H:%M UTC") if job.created_at else "",
        },
        "files": links,
        "csv_url": f"/p/{job.id}/tracklist.csv?{page_query}",
        "kind_view": None,
    }
    template = "job.html"
    if job.state == "succeeded":
        if job.kind == "identify":
            template = "identify.html"
            context["view"] = identify_view(result)
        elif job.kind == "stems":
            template = "stems.html"
            context["view"] = stems_view(result, links)
        elif job.kind == "sections":
            template = "sections.html"
            context["view"] = sections_view(result, links)
    return _env().get_template(template).render(**context)
