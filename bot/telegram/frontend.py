"""Runs the Telegram bot (python-telegram-bot, long polling) until ``stop`` is set."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot import frontend_status
from bot.commands.api import CommandLayerAPI
from bot.telegram.skin import TelegramSkin
from core.errors import NotAvailable
from core.settings import Settings

log = logging.getLogger("cratebot.telegram")

#: Seconds each getUpdates call waits for news on Telegram's side.
POLL_TIMEOUT_S = 20
#: Retries after a 429 "retry after N"; the limiter waits N seconds before each.
RATE_LIMIT_RETRIES = 3
#: While polling fails, check this often whether Telegram answers again (python-telegram-bot
#: keeps retrying getUpdates itself, but says nothing when it succeeds).
RECHECK_S = 5.0


def build_application(
    settings: Settings, layer: CommandLayerAPI, *, edit_interval: float = 1.0
) -> tuple[Application[Any, Any, Any, Any, Any, Any], TelegramSkin]:
    """The configured Application and the skin its handlers call."""
    if settings.telegram_token is None:
        raise NotAvailable("Telegram needs a bot token: set CRATEBOT_TELEGRAM_TOKEN")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        # Commands run for minutes; without this one job would block every other chat.
        .concurrent_updates(True)
        .local_mode(settings.telegram_local_mode)
        .media_write_timeout(600)
        .read_timeout(60)
        .get_updates_read_timeout(POLL_TIMEOUT_S + 10)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    app = builder.build()
    skin = TelegramSkin(settings, layer, edit_interval=edit_interval)
    uploads = filters.AUDIO | filters.VOICE | filters.Document.ALL | filters.VIDEO
    app.add_handler(MessageHandler(filters.COMMAND, skin.on_command))
    app.add_handler(MessageHandler(uploads, skin.on_upload))
    app.add_handler(CallbackQueryHandler(skin.on_button))
    app.add_handler(MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, skin.on_reply))
    app.add_error_handler(skin.on_error)
    return app, skin


def menu_commands(layer: CommandLayerAPI) -> list[BotCommand]:
    """The "/" menu: Telegram command words are one lowercase word ("/pi link" -> "pi")."""
    seen: dict[str, str] = {}
    for spec in layer.specs:
        word = spec.text.lstrip("/").split()[0].lower()
        seen.setdefault(word, spec.description[:256])
    return [BotCommand(word, text) for word, text in seen.items()]


async def run_telegram(
    settings: Settings, layer: CommandLayerAPI, stop: asyncio.Event, *, edit_interval: float = 1.0
) -> None:
    """Poll Telegram and answer commands until ``stop`` is set."""
    app, skin = build_application(settings, layer, edit_interval=edit_interval)
    async with app:
        try:
            await app.bot.set_my_commands(menu_commands(layer))
        except Exception as exc:  # cosmetic: the bot works without the menu
            log.warning("could not set the command menu: %s", exc)
        await app.start()
        assert app.updater is not None
        lost = asyncio.Event()

        def on_poll_error(exc: Exception) -> None:
            if not lost.is_set():
                log.warning("telegram: polling failed (%s); retrying", exc)
            lost.set()
            frontend_status.report(frontend_status.RECONNECTING)

        await app.updater.start_polling(
            timeout=POLL_TIMEOUT_S,
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            error_callback=on_poll_error,
        )
        log.info("telegram: polling as @%s", app.bot.username)
        frontend_status.report(frontend_status.OK)
        try:
            await _watch_connection(app, stop, lost)
        finally:
            skin.accepting = False
            await app.updater.stop()
            await skin.abandon()
            await app.stop()


async def _watch_connection(
    app: Application[Any, Any, Any, Any, Any, Any], stop: asyncio.Event, lost: asyncio.Event
) -> None:
    """Until ``stop``: after a polling failure, probe with getMe until Telegram answers."""
    while not stop.is_set():
        waiters = {asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(stop.wait(), RECHECK_S)
            return
        except TimeoutError:
            pass
        try:
            await app.bot.get_me()
        except Exception:  # noqa: BLE001 - still unreachable: keep probing
            continue
        lost.clear()
        log.info("telegram: connected again")
        frontend_status.report(frontend_status.OK)
