"""Crates from Discord: /crate add with an attached file, /crate list, /next."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.discord.fake_discord import FakeDiscord, option


async def answer(fake: FakeDiscord, payload: dict, timeout: float = 30, until: str = "") -> str:
    await fake.dispatch_interaction(payload)
    sent = await fake.wait_for(
        lambda: (m := fake.original(payload)) and until in (m.content or "") and m.content and m,
        timeout,
        what=f"the answer to /{payload['data']['name']}",
    )
    return sent.content


def sub(name: str, options: list[dict] | None = None) -> list[dict]:
    return [{"name": name, "type": 1, "options": options or []}]


@pytest.mark.slow
async def test_attach_to_crate_and_list(
    discord_bot, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    from tests.identify.synth import write_songs

    await discord_bot(edit_interval=0.5)
    names = {c["name"] for c in fake_discord.synced_commands}
    assert {"crate", "next"} <= names
    (song,) = write_songs(tmp_path / "songs", 1, seconds=30.0)
    upload = fake_discord.add_attachment(song.name, song.read_bytes())
    added = await answer(
        fake_discord,
        fake_discord.interaction(
            "crate", sub("add", [option("file", upload["id"], 11)]), attachments=[upload]
        ),
        timeout=120,
        until="the crate now holds",
    )
    assert "added Synth Artist 0" in added and "1 track(s)" in added
    listed = await answer(fake_discord, fake_discord.interaction("crate", sub("list")))
    assert "1. Synth Artist 0" in listed
    nothing = await answer(
        fake_discord, fake_discord.interaction("next", [option("track", "1", 3)])
    )
    assert "nothing in the crate fits" in nothing
