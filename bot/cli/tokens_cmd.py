"""``cratebot tokens create|list|revoke``: API tokens for ``cratebot serve``'s HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.cli.common import add_home, fail, guarded, print_json, settings_from_args
from core.settings import Settings

if TYPE_CHECKING:
    # The storage layer (SQLAlchemy and its ORM, ~15 MB of RSS) is imported where used:
    # every `cratebot` command loads this module to register its parser.
    from storage.api_tokens import TokenStore

T = TypeVar("T")


def register(sub: Any) -> None:
    tokens = sub.add_parser("tokens", help="create, list and revoke HTTP API tokens")
    add_home(tokens)
    actions = tokens.add_subparsers(dest="tokens_action", metavar="ACTION", required=True)

    p = actions.add_parser(
        "create",
        help="a new token acting for a chat user (printed once, on the last line)",
        description="Creates an API token for OWNER, written PLATFORM:ID like the chat "
        "front-ends name users (telegram:42, discord:1234, terminal:NAME). Jobs, quotas "
        "and limits are that user's, as in chat. The token is stored hashed: copy it now.",
    )
    add_home(p)
    p.add_argument("--owner", required=True, metavar="PLATFORM:ID")
    p.add_argument("--name", default="", metavar="TEXT", help="a label, e.g. the script using it")
    p.set_defaults(func=guarded(_create))

    p = actions.add_parser("list", help="every token (never the token itself)")
    add_home(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=guarded(_list))

    p = actions.add_parser("revoke", help="a token stops working at once")
    add_home(p)
    p.add_argument("id", type=int, metavar="ID")
    p.set_defaults(func=guarded(_revoke))


def _run(settings: Settings, action: Callable[[TokenStore], Awaitable[T]]) -> T:
    from storage.api_tokens import TokenStore
    from storage.db import open_database

    async def go() -> T:
        db = await open_database(settings.database_url)
        try:
            return await action(TokenStore(db))
        finally:
            await db.dispose()

    return asyncio.run(go())


def _create(args: argparse.Namespace) -> int:
    from storage.api_tokens import parse_owner

    try:
        platform, user_id = parse_owner(args.owner)
    except ValueError as exc:
        return fail(str(exc))
    if len(args.name) > 128:
        return fail("--name is at most 128 characters")
    settings = settings_from_args(args)
    token_id, token = _run(settings, lambda store: store.create(platform, user_id, args.name))
    print(f"token {token_id} for {platform}:{user_id} created; it is shown only once:")
    print(token)
    return 0


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    rows = _run(settings, lambda store: store.all())
    if args.json:
        print_json(
            [
                {
                    "id": r.id,
                    "owner": r.owner,
                    "name": r.name,
                    "hint": r.hint,
                    "created_at": r.created_at.isoformat(),
                    "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
                    "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                }
                for r in rows
            ]
        )
        return 0
    if not rows:
        print("no tokens yet; create one with: cratebot tokens create --owner PLATFORM:ID")
        return 0
    print(f"{'ID':>4}  {'OWNER':<24} {'STARTS':<11} {'CREATED':<16} {'LAST USED':<16} NAME")
    for r in rows:
        state = f" (revoked {_when(r.revoked_at)})" if r.revoked_at else ""
        print(
            f"{r.id:>4}  {r.owner:<24} {r.hint + '…':<11} {_when(r.created_at):<16} "
            f"{_when(r.last_used_at):<16} {r.name}{state}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def action(store: TokenStore) -> str:
        if await store.revoke(args.id):
            return "revoked"
        return "already revoked" if await store.exists(args.id) else "unknown"

    outcome = _run(settings, action)
    if outcome == "unknown":
        sys.stderr.write(f"cratebot: no token {args.id}; `cratebot tokens list` shows them\n")
        return 1
    print(f"token {args.id} {outcome}")
    return 0
