"""The HTTP side of ``cratebot serve``: ``/health`` and signed ``/dl/`` download links."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.commands.links import LinkError, verify
from core.settings import Settings

HealthFn = Callable[[], dict[str, Any]]


def _inside(root: Path, job_id: str, name: str) -> Path | None:
    """The file, only if it really lies in ``root/job_id`` once symlinks are resolved."""
    base = root.resolve()
    target = (base / job_id / name).resolve()
    if not target.is_relative_to(base / job_id) or not target.is_file():
        return None
    return target


def build_app(settings: Settings, key: bytes, health: HealthFn | None = None) -> web.Application:
    results = Path(settings.results_dir)

    async def health_view(request: web.Request) -> web.Response:
        body: dict[str, Any] = {"status": "ok"}
        if health is not None:
            body.update(health())
        # 200 while the process does its job (a chat front-end that is reconnecting is
        # "degraded", not a reason for a supervisor to restart everything); 503 when down.
        status = 503 if body.get("status") in {"down", "starting"} else 200
        return web.json_response(body, status=status)

    async def download(request: web.Request) -> web.StreamResponse:
        job_id = request.match_info["job_id"]
        name = request.match_info["name"]
        try:
            verify(key, job_id, name, request.query.get("exp"), request.query.get("sig"))
        except LinkError as exc:
            status = 410 if "expired" in str(exc) else 403
            return web.Response(status=status, text=f"{exc}\n")
        path = _inside(results, job_id, name)
        if path is None:
            return web.Response(
                status=404,
                text="that file is gone (results are kept "
                f"{settings.result_retention_days:g} days)\n",
            )
        return web.FileResponse(
            path,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(Path(name).name)}",
                "Cache-Control": "private, max-age=3600",
                "X-Content-Type-Options": "nosniff",
            },
        )

    app = web.Application()
    app.router.add_get("/health", health_view)
    app.router.add_get("/dl/{job_id}/{name:.+}", download)
    return app
