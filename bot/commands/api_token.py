"""``/token``: a personal token for ``cratebot serve``'s HTTP API, in a private chat only.

A token is as good as a password for the user's jobs, so it is only ever sent where
nobody else reads: a Telegram private chat (chat id = user id), a Discord DM, or the
terminal chat on the machine itself.
"""

from __future__ import annotations

from bot.commands.api import CommandContext, Reply
from core.errors import BadInput
from storage.api_tokens import TokenStore
from storage.db import Database


def is_private(ctx: CommandContext) -> bool:
    return ctx.platform == "terminal" or ctx.chat_id in (ctx.user_id, f"dm:{ctx.user_id}")


async def token_reply(ctx: CommandContext, db: Database, public_url: str) -> Reply:
    if not is_private(ctx):
        raise BadInput(
            "a token is a password: send /token to me in a private chat (a direct message)"
        )
    token_id, token = await TokenStore(db).create(
        ctx.platform, ctx.user_id, name=f"/token in {ctx.platform}", display_name=ctx.display_name
    )
    api = public_url.rstrip("/") + "/api/v1"
    return Reply(
        text=(
            f"Your HTTP API token (number {token_id}; keep it secret, it acts as you):\n"
            f"{token}\n"
            f"Use it as: Authorization: Bearer TOKEN\n"
            f"Docs: {api}/docs\n"
            f"An admin can revoke it with: cratebot tokens revoke {token_id}"
        ),
        title="API token",
        data={"token_id": token_id},
    )
