"""Pi commands from the layer against a real ``cratebot-pi --offline-render`` on loopback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.commands import Command
from tests.commands.conftest import collect, ctx, make_layer
from tests.realtime.conftest import TOKEN

ADMIN = ctx("discord", user="boss", chat="guild-1", admin=True)


@pytest.fixture
def pi(offline_pi):
    return offline_pi


@pytest.fixture
async def pi_layer(make_settings):
    async for layer in make_layer(make_settings(pi_timeout_s=2.0)):
        yield layer


async def test_bpm_reaches_the_pi_and_is_acknowledged(pi_layer, pi, home: Path) -> None:
    _, linked = await collect(pi_layer, ADMIN, f"/pi link 127.0.0.1 {pi.port} {TOKEN}")
    assert not linked.error and linked.sensitive_input
    assert "it answers" in linked.text and TOKEN not in linked.text

    _, reply = await collect(pi_layer, ADMIN, "/bpm 124")
    assert not reply.error, reply.text
    assert "acknowledged" in reply.text and reply.data == {"bpm": 124.0, "ramp_s": 0.0}
    state = await pi.client().status()
    assert state["target_bpm"] == pytest.approx(124.0)

    _, ramp = await collect(pi_layer, ADMIN, Command("bpm", {"value": 100, "ramp": "30s"}))
    assert not ramp.error and "over 30 s" in ramp.text
    _, auto = await collect(pi_layer, ADMIN, "/bpm auto on")
    assert not auto.error
    _, status = await collect(pi_layer, ADMIN, "/pi status")
    assert not status.error and "auto tempo on" in status.text
    assert status.data["status"]["target_bpm"] == pytest.approx(100.0)

    # Out-of-range tempos are refused with the accepted range before anything is sent.
    _, out_of_range = await collect(pi_layer, ADMIN, "/bpm 400")
    assert out_of_range.error and "40 to 250" in out_of_range.text

    # The token is stored encrypted: the database file never holds it in clear.
    raw = Path(pi_layer.settings.database_url.split("///", 1)[1])
    with sqlite3.connect(raw) as conn:
        (stored,) = conn.execute("select token_encrypted from pi_links").fetchone()
    assert TOKEN.encode() not in bytes(stored)
    for path in raw.parent.glob("cratebot.db*"):
        assert TOKEN.encode() not in path.read_bytes()


async def test_links_are_per_chat_and_admin_only(pi_layer, pi) -> None:
    await collect(pi_layer, ADMIN, f"/pi link 127.0.0.1 {pi.port} {TOKEN}")
    member = ctx("discord", user="fan", chat="guild-1")
    _, refused = await collect(pi_layer, member, "/bpm 124")
    assert refused.error and "only admins" in refused.text
    # Configured roles and ids make admins too.
    role_admin = ctx("discord", user="fan", chat="guild-1", roles=("123", "DJ"))
    settings = pi_layer.settings.model_copy(
        update={"admin_roles": ("dj",), "admin_user_ids": ("telegram:77",)}
    )
    pi_layer.settings = settings
    _, by_role = await collect(pi_layer, role_admin, "/bpm 125")
    assert not by_role.error, by_role.text
    _, by_id = await collect(pi_layer, ctx("telegram", user="77", chat="guild-1"), "/bpm 126")
    assert by_id.error and "no Pi is linked" in by_id.text  # admin, but another platform's chat
    _, other_chat = await collect(
        pi_layer, ctx("discord", user="boss", chat="guild-2", admin=True), "/pi status"
    )
    assert other_chat.error and "no Pi is linked" in other_chat.text

    _, unlinked = await collect(pi_layer, ADMIN, "/pi unlink")
    assert not unlinked.error
    _, gone = await collect(pi_layer, ADMIN, "/bpm 124")
    assert gone.error and "no Pi is linked" in gone.text


async def test_wrong_token_and_dead_pi_are_clear(make_settings, pi) -> None:
    async for layer in make_layer(make_settings(pi_timeout_s=0.5)):
        await collect(layer, ADMIN, f"/pi link 127.0.0.1 {pi.port} wrong-token")
        _, reply = await collect(layer, ADMIN, "/bpm 124")
        assert reply.error and "did not answer within 0.5 s" in reply.text
        _, bad = await collect(layer, ADMIN, "/pi link 127.0.0.1 70000 x")
        assert bad.error and "port 70000 is out of range" in bad.text
        _, bad_host = await collect(layer, ADMIN, "/pi link not_a_host! 9000 x")
        assert bad_host.error and "not a host name" in bad_host.text
