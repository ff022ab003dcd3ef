"""JSON errors for everything under ``/api/``: one line, never a path or a traceback."""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from bot.web.api.schemas import ErrorBody

log = logging.getLogger("cratebot.api")
API_PREFIX = "/api/"

_GENERIC = {
    400: "malformed request",
    401: "send Authorization: Bearer TOKEN (cratebot tokens create, or /token in a private chat)",
    404: "no such endpoint; GET /api/v1/openapi.json lists them",
    405: "method not allowed here",
    413: "request too large",
    415: "unsupported content type",
    431: "request headers too large",
}
# An absolute path not part of a URL: "/home/x/.cratebot/uploads/a/mix.mp3" -> "mix.mp3".
_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s'\"/]+/)+([^\s'\"/]*)")


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def scrub(text: str) -> str:
    """Drop folder names from a message a job or a check produced (they name our disk)."""
    return _PATH.sub(r"\1", text)


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = ErrorBody(error=scrub(message)[:500], status=status)
    return web.json_response(body.model_dump(), status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        keep = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return error_response(exc.status, _GENERIC.get(exc.status, exc.reason), keep)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal error; the server log has the details")
