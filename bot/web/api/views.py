"""Jobs as the API shows them: the ``Job`` model built from a row or a runner snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.web.api.errors import scrub
from bot.web.api.schemas import Job, JobFile, JobLinks
from core.settings import Settings, default_public_url
from storage.models import ResultFile

API_BASE = "/api/v1"


def base_url(request: web.Request, settings: Settings) -> str:
    """Where links point: CRATEBOT_PUBLIC_URL when it was configured, else this request's
    own origin (the derived default names 127.0.0.1 for 0.0.0.0, and port 0 for --port 0)."""
    configured = settings.public_url.rstrip("/")
    if configured and configured != default_public_url(settings.http_host, settings.http_port):
        return configured
    return str(request.url.origin())


def job_path(job_id: str) -> str:
    return f"{API_BASE}/jobs/{quote(job_id, safe='')}"


def file_url(base: str, job_id: str, name: str) -> str:
    return f"{base}{job_path(job_id)}/files/{quote(name, safe='/')}"


def live_files(results_dir: Path, job_id: str, rows: list[ResultFile]) -> list[tuple[str, int]]:
    """Published files still on disk (the sweeper removes them after the retention time)."""
    found = []
    for row in rows:
        if row.deleted_at is None and (results_dir / job_id / row.name).is_file():
            found.append((row.name, int(row.size_bytes)))
    return found


def job_model(
    base: str,
    *,
    id: str,
    kind: str,
    state: str,
    progress: float,
    text: str,
    error: str | None,
    attempts: int,
    created_at: Any,
    finished_at: Any,
    files: list[tuple[str, int]] = (),  # type: ignore[assignment]
    reused: bool = False,
) -> Job:
    return Job(
        id=id,
        kind=kind,
        state=state,  # type: ignore[arg-type]
        progress=max(0.0, min(1.0, float(progress))),
        text=scrub(text or "")[:256],
        error=scrub(error) if error else None,
        attempts=max(0, int(attempts)),
        created_at=created_at,
        finished_at=finished_at,
        reused=reused,
        files=[JobFile(name=n, size=s, url=file_url(base, id, n)) for n, s in files],
        links=JobLinks(self=base + job_path(id), events=base + job_path(id) + "/events"),
    )
