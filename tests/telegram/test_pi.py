"""/pi link and /bpm from a Telegram group reach a real cratebot-pi on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realtime.conftest import TOKEN as PI_TOKEN
from tests.realtime.conftest import pi_factory, start_server  # noqa: F401 (fixtures)
from tests.telegram.fake_bot_api import FakeBotApi

GROUP = -100777
ADMIN = 7001
MEMBER = 7002


def texts(api: FakeBotApi) -> list[str]:
    return [m.text or "" for m in api.chat_messages(GROUP)]


@pytest.mark.slow
async def test_bpm_reaches_the_pi_and_only_admins_may(
    telegram_bot,
    fake_api: FakeBotApi,
    pi_factory,  # noqa: F811
    tmp_path: Path,
) -> None:
    music = tmp_path / "music"
    music.mkdir()
    pi = pi_factory(music)
    await telegram_bot()
    fake_api.set_admins(GROUP, [ADMIN])

    fake_api.send_text(GROUP, MEMBER, f"/pi link 127.0.0.1 {pi.port} {PI_TOKEN}")
    await fake_api.wait_for(
        lambda: any("only admins" in t for t in texts(fake_api)), what="the refusal"
    )
    assert fake_api.calls_of("getChatAdministrators")

    fake_api.send_text(GROUP, ADMIN, f"/pi link 127.0.0.1 {pi.port} {PI_TOKEN}")
    linked = await fake_api.wait_for(
        lambda: [t for t in texts(fake_api) if "linked this chat" in t], what="the link"
    )
    assert "it answers" in linked[0] and PI_TOKEN not in "".join(texts(fake_api)[1:])
    link_message = fake_api.calls_of("sendMessage")[-1]
    assert link_message.params["chat_id"] == GROUP
    # The admin's message holding the token is removed.
    token_message = max(m for m in fake_api.deleted_candidates(GROUP, ADMIN))
    await fake_api.wait_for(
        lambda: (GROUP, token_message) in fake_api.deleted, what="the token message to be deleted"
    )

    fake_api.send_text(GROUP, MEMBER, "/bpm 124")
    await fake_api.wait_for(
        lambda: sum("only admins" in t for t in texts(fake_api)) == 2, what="the /bpm refusal"
    )
    state = await pi.client().status()
    assert state["target_bpm"] != pytest.approx(124.0)

    fake_api.send_text(GROUP, ADMIN, "/bpm 124")
    ack = await fake_api.wait_for(
        lambda: [
            t
            for t in texts(fake_api)
            if "124" in t and "only admins" not in t and "linked" not in t
        ],
        what="the /bpm acknowledgement",
    )
    assert "124" in ack[0]
    state = await pi.client().status()
    assert state["target_bpm"] == pytest.approx(124.0)
