"""The HTTP side of ``cratebot serve``: ``/health``, signed ``/dl/`` download links, and
whatever features are plugged in (the ``/api/v1/`` API; later ones add their own).

A feature is a function taking the application before it starts: it adds its routes,
middlewares and hooks. Middlewares a feature adds must pass through requests outside
its own path prefix untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.commands.links import LinkError, verify
from core.settings import Settings
from storage.files import inside

HealthFn = Callable[[], dict[str, Any]]
Feature = Callable[[web.Application], None]
# Bounded request heads: aiohttp's parser refuses longer lines and fields (400/431).
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190


def result_path(root: Path, job_id: str, name: str) -> Path | None:
    """The file, only if it really lies in ``root/job_id`` once symlinks are resolved."""
    try:
        target = inside(root / job_id, name)
    except ValueError:
        return None
    return target if target.is_file() else None


def build_app(
    settings: Settings,
    key: bytes,
    health: HealthFn | None = None,
    features: Iterable[Feature] = (),
) -> web.Application:
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
        path = result_path(results, job_id, name)
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

    # client_max_size bounds bodies read whole (JSON, urlencoded forms); uploads are
    # streamed by their handlers under their own caps.
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/health", health_view)
    app.router.add_get("/dl/{job_id}/{name:.+}", download)
    for feature in features:
        feature(app)
    return app
