"""/pi link and /bpm through slash commands reach a real cratebot-pi on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.discord.fake_discord import MANAGE_GUILD, FakeDiscord, option
from tests.realtime.conftest import TOKEN as PI_TOKEN
from tests.realtime.conftest import pi_factory  # noqa: F401 (fixture)

DJ_ROLE = "600000000000000077"


async def answer(fake: FakeDiscord, payload: dict) -> str:
    await fake.dispatch_interaction(payload)
    sent = await fake.wait_for(
        lambda: (m := fake.original(payload)) and m.content and m,
        what=f"the answer to /{payload['data']['name']}",
    )
    return sent.content


@pytest.mark.slow
async def test_bpm_permissions_and_the_pi(
    discord_bot,
    fake_discord: FakeDiscord,
    pi_factory,  # noqa: F811
    tmp_path: Path,
) -> None:
    music = tmp_path / "music"
    music.mkdir()
    pi = pi_factory(music)
    fake_discord.guild_roles.append(
        {
            "id": DJ_ROLE,
            "name": "DJ",
            "permissions": "0",
            "position": 1,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
        }
    )
    await discord_bot(admin_roles="DJ")

    # Without Manage Server (and without the DJ role): refused, the Pi untouched.
    refused = await answer(
        fake_discord, fake_discord.interaction("bpm", [option("value", 124, 10)], user_id=301)
    )
    assert "only admins" in refused and "/bpm" in refused

    link = fake_discord.interaction(
        "pi",
        [
            {
                "name": "link",
                "type": 1,
                "options": [
                    option("host", "127.0.0.1", 3),
                    option("port", pi.port, 4),
                    option("token", PI_TOKEN, 3),
                ],
            }
        ],
        user_id=302,
        permissions=MANAGE_GUILD,
    )
    linked = await answer(fake_discord, link)
    assert "linked this chat to the Pi" in linked and PI_TOKEN not in linked
    assert fake_discord.callbacks[-1][1]["data"]["flags"] & 64  # ephemeral

    state = await pi.client().status()
    assert state["target_bpm"] != pytest.approx(124.0)

    # Manage Server may.
    done = await answer(
        fake_discord,
        fake_discord.interaction(
            "bpm",
            [option("value", 124, 10), option("ramp", 4, 10)],
            user_id=302,
            permissions=MANAGE_GUILD,
        ),
    )
    assert "124" in done and "only admins" not in done
    assert (await pi.client().status())["target_bpm"] == pytest.approx(124.0)

    # So may a member with the configured role.
    done = await answer(
        fake_discord,
        fake_discord.interaction("bpm", [option("value", 126, 10)], user_id=303, roles=[DJ_ROLE]),
    )
    assert "126" in done and "only admins" not in done
    assert (await pi.client().status())["target_bpm"] == pytest.approx(126.0)

    auto = await answer(
        fake_discord,
        fake_discord.interaction(
            "bpm", [option("auto", "on", 3)], user_id=302, permissions=MANAGE_GUILD
        ),
    )
    assert "auto" in auto.lower()
    assert (await pi.client().status())["bpm_auto"] is True
