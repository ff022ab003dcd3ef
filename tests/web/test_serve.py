"""``cratebot serve``: health, SIGTERM, front-end loading and recoverable jobs."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot import server as serve_mod
from bot.commands import CommandContext, Progress
from bot.server import FrontendMissing, Server, configured_frontends
from core.jobs.kinds import builtin_kinds
from core.settings import load_settings
from storage.db import open_database
from storage.jobs_repo import JobRepository
from tests.commands.conftest import SLOW_STEMS, tone_file

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def test_serve_process_health_and_sigterm(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")}
    env.update(CRATEBOT_HOME=str(home), CRATEBOT_SECRET="s", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "serve", "--port", "0"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        deadline = time.monotonic() + 30
        seen = []
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if match := LISTENING.search(line):
                port = int(match.group(1))
        assert port, "".join(seen)
        # --port 0: links name the port actually bound, not 0.
        assert f"(links: http://127.0.0.1:{port})" in seen[-1], seen[-1]
        assert any("no chat front-end configured" in line for line in seen)

        async def health() -> tuple[int, dict]:
            async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/health") as r:
                return r.status, await r.json()

        status, body = asyncio.run(health())
        assert status == 200 and body["status"] == "ok" and body["accepting"] is True
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stderr.close()


def test_configured_frontend_that_cannot_load(home: Path, monkeypatch) -> None:
    assert configured_frontends(load_settings(home=home)) == {}
    monkeypatch.setitem(
        serve_mod.FRONTENDS, "telegram", ("telegram_token", "bot.no_such_frontend", "run_telegram")
    )
    with pytest.raises(
        FrontendMissing,
        match="CRATEBOT_TELEGRAM_TOKEN is set but the telegram front-end cannot be loaded",
    ):
        configured_frontends(load_settings(home=home, telegram_token="123:abc"))


async def test_stop_requeues_running_jobs(home: Path, tmp_path: Path) -> None:
    """SIGTERM's path: commands refused at once, the running job queued again."""
    settings = load_settings(home=home, secret="s", http_port=0)
    song = tone_file(tmp_path / "song.wav")
    seen: list[object] = []
    started = asyncio.Event()

    async def frontend(settings, layer, stop: asyncio.Event) -> None:
        user = CommandContext("test", "u1", "c1", attachments=(song,))
        async for update in layer.handle(user, "/stems"):
            seen.append(update)
            if isinstance(update, Progress) and update.state == "running":
                started.set()
                break
        await stop.wait()
        async for update in layer.handle(user, "/jobs"):
            seen.append(update)

    server = Server(
        settings,
        kinds={**builtin_kinds(settings), "stems": SLOW_STEMS},
        frontends={"test": frontend},
    )
    task = asyncio.create_task(server.run(install_signals=False))
    await asyncio.wait_for(started.wait(), 30)
    assert server.health()["frontends"] == {"test": "starting"}  # it never reports "ok"
    server.request_stop()
    assert await asyncio.wait_for(task, 30) == 0
    assert "shutting down" in seen[-1].text and seen[-1].error

    db = await open_database(settings.database_url)
    try:
        (job,) = await JobRepository(db).list()
        assert job.state == "queued" and "queued again" in job.progress_text
    finally:
        await db.dispose()


async def test_frontend_crash_does_not_stop_the_server(home: Path, monkeypatch) -> None:
    """A front-end that keeps failing is restarted with backoff; jobs and /health go on."""
    import bot.server as serve_module

    monkeypatch.setattr(serve_module, "BACKOFF_BASE_S", 0.05)
    calls = []

    async def broken(settings, layer, stop) -> None:
        calls.append(1)
        raise RuntimeError("lost the gateway")

    server = Server(load_settings(home=home, secret="s", http_port=0), frontends={"broken": broken})
    task = asyncio.create_task(server.run(install_signals=False))
    for _ in range(200):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.05)
    assert len(calls) >= 3 and not task.done()
    health = server.health()
    assert health["frontends"]["broken"] in {"reconnecting", "starting"}
    assert health["status"] == "degraded" and health["runner"]["state"] == "ok"
    server.request_stop()
    assert await asyncio.wait_for(task, 30) == 0
