"""The real python-telegram-bot Application polling a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import command_layer, tiny_demucs_repo

TOKEN = "123456:TEST-telegram-token"


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi(TOKEN)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture(scope="session")
def demucs_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_demucs_repo(tmp_path_factory.mktemp("demucs"))


@pytest.fixture
def tg_settings(home: Path, fake_api: FakeBotApi, demucs_repo: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values = dict(
            home=home,
            telegram_token=TOKEN,
            telegram_base_url=fake_api.base_url,
            telegram_base_file_url=fake_api.base_file_url,
            allow_private_urls=True,
            demucs_repo=demucs_repo,
            public_url="http://127.0.0.1:9/",
        )
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
async def telegram_bot(tg_settings, fake_api: FakeBotApi) -> AsyncIterator[Callable]:
    """``await start(**settings_overrides)`` runs run_telegram until the test ends."""
    from bot.telegram.frontend import run_telegram

    stack = contextlib.AsyncExitStack()
    tasks: list[asyncio.Task[None]] = []
    stop = asyncio.Event()

    async def start(**overrides: object):
        settings = tg_settings(**overrides)
        layer = await stack.enter_async_context(command_layer(settings))
        tasks.append(asyncio.create_task(run_telegram(settings, layer, stop)))
        await fake_api.wait_for(
            lambda: fake_api.polls > 0 or tasks[0].done(), 15, "the bot to start polling"
        )
        if tasks[0].done():
            tasks[0].result()  # raise its start-up error
        return layer

    start.stop = stop  # type: ignore[attr-defined]
    start.tasks = tasks  # type: ignore[attr-defined]
    yield start
    stop.set()
    if tasks:
        await asyncio.wait_for(tasks[0], 20)
    await stack.aclose()
