"""The real discord.py client, gateway and command tree against a fake Discord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import discord
import pytest
import yarl

from core.settings import load_settings
from tests.discord.fake_discord import FakeDiscord
from tests.telegram.stack import command_layer, tiny_demucs_repo

TOKEN = "discord-test-token"


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    # The network edge: discord.py's REST base and gateway URL point at the fake.
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
def demucs_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_demucs_repo(tmp_path_factory.mktemp("demucs"))


@pytest.fixture
async def discord_bot(
    home: Path, fake_discord: FakeDiscord, demucs_repo: Path
) -> AsyncIterator[Callable]:
    """``await start(edit_interval=.., token_window_s=.., **settings)`` runs run_discord."""
    from bot.discord.frontend import run_discord

    stack = contextlib.AsyncExitStack()
    tasks: list[asyncio.Task[None]] = []
    stop = asyncio.Event()

    async def start(
        edit_interval: float = 2.0, token_window_s: float = 14.5 * 60, **overrides: object
    ):
        values = dict(
            home=home,
            discord_token=TOKEN,
            allow_private_urls=True,
            demucs_repo=demucs_repo,
            public_url="http://127.0.0.1:9/",
        )
        values.update(overrides)
        settings = load_settings(**values)
        layer = await stack.enter_async_context(command_layer(settings))
        tasks.append(
            asyncio.create_task(
                run_discord(
                    settings,
                    layer,
                    stop,
                    edit_interval=edit_interval,
                    token_window_s=token_window_s,
                )
            )
        )
        await fake_discord.wait_for(
            lambda: fake_discord.ready or tasks[0].done(), 15, "the gateway READY"
        )
        if tasks[0].done():
            tasks[0].result()
        await fake_discord.wait_for(lambda: fake_discord.synced_commands, 10, "command sync")
        return layer

    start.stop = stop  # type: ignore[attr-defined]
    start.tasks = tasks  # type: ignore[attr-defined]
    yield start
    stop.set()
    if tasks:
        await asyncio.wait_for(tasks[0], 20)
    await stack.aclose()
