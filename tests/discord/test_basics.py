"""Slash commands through discord.py's real client, gateway and command tree."""

from __future__ import annotations

import time

from tests.discord.fake_discord import FakeDiscord, option


async def test_help_is_deferred_then_answered(discord_bot, fake_discord: FakeDiscord) -> None:
    await discord_bot()
    names = {c["name"] for c in fake_discord.synced_commands}
    assert {"id", "stems", "sections", "bpm", "pi", "jobs", "cancel", "help"} <= names
    stems = next(c for c in fake_discord.synced_commands if c["name"] == "stems")
    options = {o["name"]: o for o in stems["options"]}
    assert options["file"]["type"] == 11  # an attachment parameter
    assert [c["value"] for c in options["format"]["choices"]] == ["mp3", "wav", "flac"]

    payload = fake_discord.interaction("help", [option("topic", "stems", 3)])
    sent_at = time.monotonic()
    await fake_discord.dispatch_interaction(payload)
    await fake_discord.wait_for(lambda: fake_discord.callbacks, what="the deferral")
    kind, body, at = fake_discord.callbacks[0]
    assert kind == 5 and at - sent_at < 3.0  # "thinking", well within Discord's 3 s
    original = await fake_discord.wait_for(
        lambda: (m := fake_discord.original(payload)) and m.content and m, what="the answer"
    )
    assert "/stems SOURCE" in original.content
