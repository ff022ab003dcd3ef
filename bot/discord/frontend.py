"""Runs the Discord bot (discord.py, gateway + slash commands) until ``stop`` is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import discord
from discord import app_commands

from bot import frontend_status
from bot.commands.api import CommandLayerAPI, CommandSpec
from bot.discord.skin import EDIT_INTERVAL_S, TOKEN_WINDOW_S, DiscordSkin
from bot.discord.slash import register
from core.errors import NotAvailable
from core.settings import Settings

log = logging.getLogger("cratebot.discord")


class CrateBotClient(discord.Client):
    def __init__(self, skin: DiscordSkin, specs: Iterable[CommandSpec]) -> None:
        # Slash commands need no privileged intents (no message content, no members).
        super().__init__(intents=discord.Intents.default())
        self.skin = skin
        self.tree = app_commands.CommandTree(self)
        register(self.tree, skin, tuple(specs))

    # discord.py reconnects the gateway itself (reconnect=True, with backoff); these events
    # only tell `serve` (and /health) how that is going.
    async def on_ready(self) -> None:
        frontend_status.report(frontend_status.OK)

    async def on_resumed(self) -> None:
        frontend_status.report(frontend_status.OK)

    async def on_disconnect(self) -> None:
        frontend_status.report(frontend_status.RECONNECTING)

    async def setup_hook(self) -> None:
        # Global commands: Discord shows changes within about an hour of a sync.
        try:
            synced = await self.tree.sync()
            log.info("discord: %d slash commands synced", len(synced))
        except discord.HTTPException as exc:
            log.warning("could not sync slash commands: %s", exc)


def build_client(
    settings: Settings,
    layer: CommandLayerAPI,
    *,
    edit_interval: float = EDIT_INTERVAL_S,
    token_window_s: float = TOKEN_WINDOW_S,
) -> CrateBotClient:
    skin = DiscordSkin(settings, layer, edit_interval=edit_interval, token_window_s=token_window_s)
    return CrateBotClient(skin, layer.specs)


async def run_discord(
    settings: Settings,
    layer: CommandLayerAPI,
    stop: asyncio.Event,
    *,
    edit_interval: float = EDIT_INTERVAL_S,
    token_window_s: float = TOKEN_WINDOW_S,
) -> None:
    """Connect to Discord and answer slash commands until ``stop`` is set."""
    if settings.discord_token is None:
        raise NotAvailable("Discord needs a bot token: set CRATEBOT_DISCORD_TOKEN")
    client = build_client(
        settings, layer, edit_interval=edit_interval, token_window_s=token_window_s
    )
    async with client:
        running = asyncio.create_task(client.start(settings.discord_token.get_secret_value()))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if running.done():
                running.result()  # a login failure or a closed gateway: let serve see it
                return
        finally:
            stopping.cancel()
            client.skin.accepting = False
            await client.skin.abandon()
            await client.close()
            if not running.done():
                running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await running
