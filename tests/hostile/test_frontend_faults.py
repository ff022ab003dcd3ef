"""Front-ends survive network faults: reconnect with capped, jittered backoff, and
``cratebot serve`` stays up (with ``/health`` answering) while Telegram is unreachable."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.server import BACKOFF_CAP_S, Server, backoff_delay
from core.settings import load_settings
from tests.telegram.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-telegram-token"


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, rng) for n in range(1, 30)]
    assert all(0 < d <= BACKOFF_CAP_S for d in delays)
    assert delays[0] <= 1.0 and delays[-1] >= BACKOFF_CAP_S / 2
    late = [backoff_delay(20, rng) for _ in range(50)]
    assert len({round(d, 3) for d in late}) > 40  # jittered, not lockstep


async def test_flaky_frontend_reconnects_and_reports(home: Path, monkeypatch) -> None:
    import bot.server as serve_module
    from bot import frontend_status

    monkeypatch.setattr(serve_module, "BACKOFF_BASE_S", 0.05)
    attempts = []
    connected = asyncio.Event()

    async def flaky(settings, layer, stop) -> None:
        attempts.append(1)
        if len(attempts) <= 3:
            raise ConnectionRefusedError("api.telegram.org refused the connection")
        frontend_status.report(frontend_status.OK)
        connected.set()
        await stop.wait()

    class InvalidToken(Exception):  # named like python-telegram-bot's: no retry can fix it
        pass

    async def bad_token(settings, layer, stop) -> None:
        raise InvalidToken("the token was rejected")

    server = Server(
        load_settings(home=home, secret="s", http_port=0),
        frontends={"flaky": flaky, "badtoken": bad_token},
    )
    task = asyncio.create_task(server.run(install_signals=False))
    await asyncio.wait_for(connected.wait(), 30)
    health = server.health()
    assert health["frontends"] == {"flaky": "ok", "badtoken": "down"}
    assert health["status"] == "degraded" and health["runner"]["state"] == "ok"
    assert len(attempts) == 4 and not task.done()
    server.request_stop()
    assert await asyncio.wait_for(task, 30) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def _until(predicate, timeout: float, what: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_serve_survives_telegram_outages(home: Path) -> None:
    api_port, http_port = _free_port(), _free_port()
    api = FakeBotApi(TOKEN)
    env = {
        **os.environ,
        "CRATEBOT_HOME": str(home),
        "CRATEBOT_TELEGRAM_TOKEN": TOKEN,
        "CRATEBOT_TELEGRAM_BASE_URL": f"http://127.0.0.1:{api_port}/bot",
        "CRATEBOT_TELEGRAM_BASE_FILE_URL": f"http://127.0.0.1:{api_port}/file/bot",
        "CRATEBOT_SECRET": "s",
    }
    env.pop("CRATEBOT_DISCORD_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli.main", "serve", "--port", str(http_port),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        # 1. Telegram refuses connections: serve stays up, /health answers "reconnecting".
        def reconnecting():
            try:
                code, body = _health(http_port)
            except OSError:
                return None
            state = body["frontends"].get("telegram")
            return (code, body) if state == "reconnecting" else None

        code, body = await _until(reconnecting, 60, "/health to report reconnecting")
        assert code == 200 and body["status"] == "degraded"
        assert body["runner"]["state"] == "ok"
        await asyncio.sleep(2)
        assert proc.returncode is None, "serve exited while Telegram was unreachable"

        # 2. Telegram comes back: polling resumes and commands are answered.
        await api.start(api_port)
        await api.wait_for(lambda: api.polls > 0, 90, "serve to poll again")
        api.send_text(77, 77, "/jobs")
        reply = await api.wait_for(
            lambda: [m for m in api.chat_messages(77) if m.text], 30, "the /jobs reply"
        )
        assert "no jobs" in reply[0].text
        await _until(lambda: _health(http_port)[1]["frontends"]["telegram"] == "ok", 30, "state ok")

        # 3. An outage while polling: reported, then recovered on the same port.
        await api.stop()
        await _until(
            lambda: _health(http_port)[1]["frontends"]["telegram"] == "reconnecting",
            90,
            "reconnecting after the outage",
        )
        assert proc.returncode is None
        api = FakeBotApi(TOKEN)
        await api.start(api_port)
        await _until(lambda: _health(http_port)[1]["frontends"]["telegram"] == "ok", 90, "ok again")
        api.send_text(78, 78, "/jobs")
        await api.wait_for(lambda: api.chat_messages(78), 60, "a reply after the outage")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 40)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        await api.stop()
        assert proc.stderr is not None
        log = (await proc.stderr.read()).decode()
    assert proc.returncode == 0, log
    assert "reconnecting in" in log
