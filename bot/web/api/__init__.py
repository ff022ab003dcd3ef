"""The HTTP API under ``/api/v1/``: jobs for scripts and tools, described by OpenAPI 3.1.

``api_feature(layer)`` returns what ``bot.web.app.build_app`` calls to add it: the
routes (each declared once, in ``jobs.py``, for both aiohttp and the description), the
JSON-error and bearer-token middlewares, the description and its HTML page.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.web.api import docs
from bot.web.api.auth import TOKENS, bearer_auth
from bot.web.api.errors import json_errors
from bot.web.api.jobs import JobsApi, operations
from bot.web.api.openapi import ApiRoutes, Operation, Reply
from bot.web.api.views import base_url
from storage.api_tokens import TokenStore

API_VERSION = "1.0.0"
ROUTES = web.AppKey("api_routes", ApiRoutes)
DESCRIPTION = (
    "Submit CrateBot jobs (identify a DJ mix, split stems, cut tempo-aligned sections), "
    "follow them and download their results. Every endpoint except this description needs "
    "`Authorization: Bearer TOKEN`; a token acts for one chat user (create one with "
    "`cratebot tokens create --owner PLATFORM:ID` or /token in a private chat with the bot), "
    'with that user\'s jobs, quotas and limits. Errors are JSON: {"error": ..., "status": ...}.'
)


def build_routes(layer: Any, tokens: TokenStore, stopping: asyncio.Event) -> ApiRoutes:
    routes = ApiRoutes("CrateBot API", API_VERSION, DESCRIPTION)
    routes.add(*operations(JobsApi(layer, tokens, stopping)))

    async def openapi_json(request: web.Request) -> web.StreamResponse:
        spec = request.app[ROUTES].spec(servers=[base_url(request, layer.settings)])
        return web.json_response(spec, headers={"Cache-Control": "no-cache"})

    async def docs_page(request: web.Request) -> web.StreamResponse:
        spec = request.app[ROUTES].spec(servers=[base_url(request, layer.settings)])
        return web.Response(text=docs.render(spec), content_type="text/html")

    routes.add(
        Operation(
            "GET",
            "/api/v1/openapi.json",
            openapi_json,
            "openapi",
            "This description (OpenAPI 3.1)",
            responses={
                200: Reply(
                    "the OpenAPI document", media_type="application/json", schema={"type": "object"}
                )
            },
            secured=False,
            tags=("meta",),
        ),
        Operation(
            "GET",
            "/api/v1/docs",
            docs_page,
            "docs",
            "This description as a readable page",
            responses={200: Reply("HTML", media_type="text/html", schema={"type": "string"})},
            secured=False,
            tags=("meta",),
        ),
    )
    return routes


def api_feature(layer: Any) -> Any:
    """Adds the API to an application (see ``bot.web.app.build_app``)."""

    def install(app: web.Application) -> None:
        stopping = asyncio.Event()
        tokens = TokenStore(layer.db)
        routes = build_routes(layer, tokens, stopping)
        app[TOKENS] = tokens
        app[ROUTES] = routes
        app.middlewares.append(json_errors)
        app.middlewares.append(bearer_auth)
        routes.register(app)

        async def on_shutdown(app: web.Application) -> None:
            stopping.set()  # event streams end, so shutdown need not wait for them

        app.on_shutdown.append(on_shutdown)

    return install
