"""``/token`` on Discord: refused in a server, a working token in a DM, always ephemeral."""

from __future__ import annotations

import re

from storage.api_tokens import TokenStore
from tests.discord.fake_discord import FakeDiscord

EPHEMERAL = 1 << 6


def as_dm(payload: dict) -> dict:
    """The same interaction sent from a direct message with the bot."""
    user = payload.pop("member")["user"]
    for key in ("guild_id", "guild_locale"):
        payload.pop(key, None)
    payload["user"] = user
    payload["channel"] = {"id": payload["channel_id"], "type": 1, "recipients": [user]}
    payload["context"] = 1
    payload["authorizing_integration_owners"] = {"1": user["id"]}
    return payload


async def test_token_only_in_a_dm(discord_bot, fake_discord: FakeDiscord) -> None:
    layer = await discord_bot()
    assert "token" in {c["name"] for c in fake_discord.synced_commands}

    in_server = fake_discord.interaction("token", user_id=222)
    await fake_discord.dispatch_interaction(in_server)
    refusal = await fake_discord.wait_for(
        lambda: (m := fake_discord.original(in_server)) and m.content and m, what="the refusal"
    )
    assert "private chat" in refusal.content and "cbt" not in refusal.content

    dm = as_dm(fake_discord.interaction("token", user_id=222))
    await fake_discord.dispatch_interaction(dm)
    answer = await fake_discord.wait_for(
        lambda: (m := fake_discord.original(dm)) and m.content and m, what="the token"
    )
    token = re.search(r"^(cbt[0-9a-f]{64})$", answer.content, re.MULTILINE)
    assert token is not None, answer.content
    owner = await TokenStore(layer.db).verify(token.group(1))
    assert owner is not None and owner.key == "discord:222"
    # Deferred as ephemeral in both places: nobody else sees the answer.
    deferrals = [body for kind, body, _ in fake_discord.callbacks if kind == 5]
    assert len(deferrals) == 2
    assert all((body.get("data") or {}).get("flags", 0) & EPHEMERAL for body in deferrals)
