"""Signed download links served by the real aiohttp app on loopback."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.commands.keys import link_key
from bot.commands.links import LinkError, sign_path
from bot.web.app import build_app
from core.settings import Settings, load_settings

JOB = "a1b2c3d4e5f6"


@pytest.fixture
def settings(home: Path) -> Settings:
    s = load_settings(home=home, secret="web-test-secret", link_ttl_s=60)
    s.ensure_dirs()
    folder = s.results_dir / JOB / "parts"
    folder.mkdir(parents=True)
    (s.results_dir / JOB / "stems.zip").write_bytes(b"PK" + os.urandom(4096))
    (folder / "my part.wav").write_bytes(b"RIFF" + bytes(100))
    return s


@pytest.fixture
async def base(settings: Settings) -> AsyncIterator[str]:
    runner = web.AppRunner(build_app(settings, link_key(settings)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read(), dict(response.headers)


async def test_valid_link(settings: Settings, base: str) -> None:
    key = link_key(settings)
    status, body, headers = await fetch(base + sign_path(key, JOB, "stems.zip", 60))
    assert status == 200
    assert body == (settings.results_dir / JOB / "stems.zip").read_bytes()
    assert "attachment" in headers["Content-Disposition"]
    status, body, _ = await fetch(base + sign_path(key, JOB, "parts/my part.wav", 60))
    assert status == 200 and body.startswith(b"RIFF")
    status, body, _ = await fetch(base + "/health")
    assert status == 200 and b'"ok"' in body


async def test_expired_link(settings: Settings, base: str) -> None:
    path = sign_path(link_key(settings), JOB, "stems.zip", 60, now=time.time() - 120)
    status, body, _ = await fetch(base + path)
    assert status == 410 and b"expired" in body


async def test_tampered_links(settings: Settings, base: str) -> None:
    key = link_key(settings)
    good = sign_path(key, JOB, "stems.zip", 60)
    path, query = good.split("?")
    exp, sig = (part.split("=")[1] for part in query.split("&"))
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    cases = [
        f"{path}?exp={exp}&sig={flipped}",  # signature changed
        f"{path}?exp={int(exp) + 3600}&sig={sig}",  # expiry extended
        f"{path.replace('stems.zip', 'parts/my%20part.wav')}?exp={exp}&sig={sig}",  # other file
        f"/dl/{'f' * 12}/stems.zip?exp={exp}&sig={sig}",  # other job
        f"{path}?exp={exp}",  # no signature
    ]
    for case in cases:
        status, body, _ = await fetch(base + case)
        assert status == 403, (case, status, body)
    other_key = sign_path(b"another secret entirely, 32 byte", JOB, "stems.zip", 60)
    assert (await fetch(base + other_key))[0] == 403


async def test_path_traversal(settings: Settings, base: str, tmp_path: Path) -> None:
    key = link_key(settings)
    for job, name in [
        (JOB, "../other/x"),
        (JOB, "/etc/passwd"),
        ("..", "cratebot.db"),
        (JOB, "parts/../../x"),
    ]:
        with pytest.raises(LinkError):
            sign_path(key, job, name, 60)
    secret = tmp_path / "outside.txt"
    secret.write_text("private")
    # Encoded dot segments with a signature made for them by hand (as an attacker would
    # if they had the key for the name) are refused by the name check, not only the MAC.
    for raw in [
        f"/dl/{JOB}/..%2F..%2Fcratebot.db",
        f"/dl/{JOB}/%2e%2e/x",
        "/dl/../cratebot.db",
        "/dl/%2e%2e/cratebot.db",
    ]:
        status, body, _ = await fetch(base + raw + "?exp=9999999999&sig=00")
        assert status in (403, 404), (raw, status)
        assert b"private" not in body and b"SQLite" not in body
    # A symlink planted inside the results folder may not lead out of it, signed or not.
    (settings.results_dir / JOB / "link.txt").symlink_to(secret)
    status, body, _ = await fetch(base + sign_path(key, JOB, "link.txt", 60))
    assert status == 404 and b"private" not in body
    # A deleted result says so.
    status, body, _ = await fetch(base + sign_path(key, JOB, "gone.zip", 60))
    assert status == 404 and b"gone" in body


async def test_layer_links_are_served(settings: Settings, base: str) -> None:
    """link_for() of the command layer produces URLs the server accepts."""
    from bot.commands.layer import CommandLayer
    from core.jobs.runner import JobRunner
    from storage.db import open_database

    served = settings.model_copy(update={"public_url": base + "/"})
    db = await open_database(served.database_url)
    try:
        layer = CommandLayer(served, JobRunner(served, db), db)
        url = layer.link_for(JOB, "parts/my part.wav")
        assert url.startswith(base + "/dl/")
        status, body, _ = await fetch(url)
        assert status == 200 and body.startswith(b"RIFF")
        expired = layer.link_for(JOB, "stems.zip", ttl_s=-1)
        assert (await fetch(expired))[0] == 410
    finally:
        await db.dispose()
