"""Bearer tokens: every ``/api/v1/`` request except the description acts for a token owner."""

from __future__ import annotations

from aiohttp import web

from bot.web.api.errors import ApiError
from storage.api_tokens import TokenOwner, TokenStore

TOKENS = web.AppKey("api_tokens", TokenStore)
OWNER = "api_owner"
PUBLIC = frozenset({"/api/v1/openapi.json", "/api/v1/docs"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cratebot"'}


def owner_of(request: web.Request) -> TokenOwner:
    owner = request.get(OWNER)
    assert isinstance(owner, TokenOwner), "the auth middleware runs first"
    return owner


@web.middleware
async def bearer_auth(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/v1/") or request.path in PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "send Authorization: Bearer TOKEN (cratebot tokens create, or /token in a "
            "private chat)",
            _CHALLENGE,
        )
    owner = await request.app[TOKENS].verify(token.strip())
    if owner is None:
        raise ApiError(401, "that token is unknown or revoked", _CHALLENGE)
    request[OWNER] = owner
    return await handler(request)
