"""Chat: hostile links and paths get one clear reply; anything unforeseen an error id."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from tests.commands.conftest import collect, ctx, make_layer


@pytest.fixture
async def layer(home: Path):
    from core.settings import load_settings

    settings = load_settings(home=home, secret="s", public_url="http://dl.test")
    async for item in make_layer(settings):
        yield item


CHAT_LINKS = [
    "http://[::1",
    "http://127.0.0.1:99999/x.mp3",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/a.mp3",
    "file:///etc/passwd",
    "ftp://example.com/a.mp3",
    "http://0x7f.1/a.mp3",
]


@pytest.mark.parametrize("link", CHAT_LINKS)
async def test_hostile_links_refused_in_one_reply(layer, link):
    _, reply = await collect(layer, ctx(), f"/stems {link}")
    assert reply.error and "\n" not in reply.text and "Traceback" not in reply.text
    assert await layer.repo.list() == []


async def test_terminal_paths_refused_cleanly(layer, tmp_path):
    loop = tmp_path / "loop.mp3"
    os.symlink(tmp_path / "loop2.mp3", loop)
    os.symlink(loop, tmp_path / "loop2.mp3")
    terminal = ctx("terminal", allow_local_paths=True)
    for source, expected in [
        (str(loop), "symbolic link loop"),
        (str(tmp_path / ("n" * 300 + ".wav")), "too long"),
        ("~nosuchuser-cratebot/x.mp3", "no such user"),
    ]:
        _, reply = await collect(layer, terminal, f"/stems {source}")
        assert reply.error and expected in reply.text, reply.text


async def test_unforeseen_failure_is_an_error_id(layer, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("internal detail /srv/secret/path")

    monkeypatch.setattr(layer.runner, "submit", broken)
    from tests.commands.conftest import tone_file

    song = tone_file(Path(os.environ["CRATEBOT_HOME"]) / "song.wav")
    with caplog.at_level(logging.ERROR, logger="cratebot.commands"):
        _, reply = await collect(layer, ctx(attachments=(song,)), "/stems")
    assert reply.error and "error id" in reply.text
    assert "/srv/secret" not in reply.text and "RuntimeError" not in reply.text
    error_id = reply.text.split("error id ")[1].split(")")[0]
    assert any(error_id in r.getMessage() for r in caplog.records)
