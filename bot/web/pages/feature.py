"""The aiohttp side of result pages: the ``/p/`` route and the static scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from bot.commands.links import LinkError, verify_page
from bot.web.pages.render import render_page
from core.identify.outputs import tracklist_csv
from core.settings import Settings
from storage.db import Database
from storage.jobs_repo import JobRepository
from storage.models import Job

STATIC = Path(__file__).resolve().parent / "static"
_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Everything a page needs is served from here; nothing may load from elsewhere.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'",
}


def _refusal(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers={"Cache-Control": "no-store"})


def pages_feature(settings: Settings, key: bytes, db: Database) -> Any:
    """Adds result pages to an application (see ``bot.web.app.build_app``)."""
    jobs = JobRepository(db)

    async def signed_job(request: web.Request) -> Job | web.Response:
        """The job a page link names, or the refusal to send instead."""
        job_id = request.match_info["job_id"]
        try:
            verify_page(key, job_id, request.query.get("exp"), request.query.get("sig"))
        except LinkError as exc:
            return _refusal(410 if "expired" in str(exc) else 403, str(exc))
        job = await jobs.get(job_id)
        return (
            job
            if job is not None
            else _refusal(404, "no such job (results are kept a limited time)")
        )

    async def page(request: web.Request) -> web.StreamResponse:
        job = await signed_job(request)
        if isinstance(job, web.Response):
            return job
        files = [f for f in await jobs.results(job.id) if f.deleted_at is None]
        html = render_page(settings, key, job, files, request.query_string)
        return web.Response(text=html, content_type="text/html", headers=_HEADERS)

    async def export_csv(request: web.Request) -> web.StreamResponse:
        job = await signed_job(request)
        if isinstance(job, web.Response):
            return job
        job_id = job.id
        if job.kind != "identify" or job.state != "succeeded":
            return _refusal(404, "no tracklist for that job")
        return web.Response(
            text=tracklist_csv(job.result or {}),
            content_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="tracklist-{job_id}.csv"',
                "Cache-Control": "private, no-store",
            },
        )

    def install(app: web.Application) -> None:
        app.router.add_get("/p/{job_id}", page)
        app.router.add_get("/p/{job_id}/tracklist.csv", export_csv)
        app.router.add_static("/static/pages/", STATIC, show_index=False, follow_symlinks=False)

    return install
