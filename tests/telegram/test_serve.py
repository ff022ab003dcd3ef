"""``cratebot serve`` configured only through CRATEBOT_TELEGRAM_* variables."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.telegram.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_serve_polls_the_configured_bot_api(home: Path, fake_api: FakeBotApi) -> None:
    env = {
        **os.environ,
        "CRATEBOT_HOME": str(home),
        "CRATEBOT_TELEGRAM_TOKEN": fake_api.token,
        "CRATEBOT_TELEGRAM_BASE_URL": fake_api.base_url,
        "CRATEBOT_TELEGRAM_BASE_FILE_URL": fake_api.base_file_url,
    }
    env.pop("CRATEBOT_DISCORD_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli.main",
        "serve",
        "--port",
        "0",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake_api.wait_for(
            lambda: fake_api.polls > 0 or proc.returncode is not None, 60, "serve to start polling"
        )
        fake_api.send_text(77, 77, "/jobs")
        reply = await fake_api.wait_for(
            lambda: [m for m in fake_api.chat_messages(77) if m.text], what="the /jobs reply"
        )
        assert "no jobs" in reply[0].text
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert proc.stderr is not None
        log = (await proc.stderr.read()).decode()
    assert proc.returncode == 0, log
    assert "polling as @cratebot_test_bot" in log
