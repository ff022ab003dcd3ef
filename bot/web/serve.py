"""Run everything ``cratebot serve`` is: job runner, command layer, HTTP server and the
configured chat front-ends, until SIGTERM/SIGINT.

Shutdown order matters: first the layer stops taking commands and the front-ends
disconnect, then the runner stops (running jobs are killed and re-queued, so the
next start resumes them), then the HTTP server and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.errors import CrateBotError
from core.settings import Settings

log = logging.getLogger("cratebot.serve")

FRONTENDS = {
    "telegram": ("telegram_token", "bot.telegram.frontend", "run_telegram"),
    "discord": ("discord_token", "bot.discord.frontend", "run_discord"),
}
FRONTEND_STOP_S = 20.0


class FrontendMissing(CrateBotError):
    pass


FrontendFn = Callable[[Settings, Any, asyncio.Event], Awaitable[None]]


def configured_frontends(settings: Settings) -> dict[str, FrontendFn]:
    """The entry point of every front-end whose token is set; a clear error if one is
    configured but its code or library is not installed."""
    found: dict[str, FrontendFn] = {}
    for name, (token_field, module_name, func_name) in FRONTENDS.items():
        token = getattr(settings, token_field, None)
        if token is None or not token.get_secret_value():
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise FrontendMissing(
                f"CRATEBOT_{token_field.upper()} is set but the {name} front-end cannot be "
                f"loaded ({exc}); install it or unset the token"
            ) from exc
        func = getattr(module, func_name, None)
        if func is None:
            raise FrontendMissing(f"{module_name} has no {func_name}()")
        found[name] = func
    return found


@dataclass
class Server:
    settings: Settings
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    frontend_state: dict[str, str] = field(default_factory=dict)
    port: int | None = None  # the bound port, once listening
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Tests and embedders may replace the job kinds and the front-ends.
    kinds: dict[str, Any] | None = None
    frontends: dict[str, FrontendFn] | None = None
    layer: Any = None

    def request_stop(self) -> None:
        """What SIGTERM does: refuse new commands at once, then wind everything down."""
        if self.layer is not None:
            self.layer.stop_accepting()
        self.stop.set()

    def health(self) -> dict[str, Any]:
        failed = [n for n, state in self.frontend_state.items() if state == "failed"]
        return {
            "status": "degraded" if failed else "ok",
            "frontends": dict(self.frontend_state),
            "accepting": not self.stop.is_set(),
        }

    async def run(self, install_signals: bool = True) -> int:
        from bot.commands.keys import link_key
        from bot.commands.layer import CommandLayer
        from bot.web.app import build_app
        from core.jobs.celery_backend import make_runner
        from storage.db import open_database

        settings = self.settings
        # A configured front-end that cannot load fails here, before anything starts.
        frontends = configured_frontends(settings) if self.frontends is None else self.frontends
        if not frontends:
            log.warning(
                "no chat front-end configured (set CRATEBOT_TELEGRAM_TOKEN or "
                "CRATEBOT_DISCORD_TOKEN); running jobs and serving downloads only"
            )
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        db = await open_database(settings.database_url)
        runner = make_runner(settings, db, self.kinds)
        web_runner = web.AppRunner(
            build_app(settings, link_key(settings), self.health), access_log=None
        )
        code = 0
        try:
            await runner.start()
            layer = self.layer = CommandLayer(settings, runner, db)
            if self.stop.is_set():
                layer.stop_accepting()
            await web_runner.setup()
            site = web.TCPSite(web_runner, settings.http_host, settings.http_port)
            await site.start()
            self.port = _bound_port(web_runner)
            log.info(
                "listening on http://%s:%s (links: %s)",
                settings.http_host,
                self.port,
                settings.public_url,
            )
            tasks = {
                name: asyncio.create_task(func(settings, layer, self.stop), name=name)
                for name, func in frontends.items()
            }
            for name in tasks:
                self.frontend_state[name] = "running"
            self.ready.set()
            code = await self._watch(tasks)
            layer.stop_accepting()
            await self._stop_frontends(tasks)
        finally:
            self.stop.set()
            await runner.stop()
            await web_runner.cleanup()
            await db.dispose()
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        log.info("stopped")
        return code

    async def _watch(self, tasks: dict[str, asyncio.Task[None]]) -> int:
        """Wait for the stop signal; a front-end that ends on its own stops the server
        (exit status 1), so a supervisor restarts the whole process."""
        stopper = asyncio.create_task(self.stop.wait())
        try:
            pending = {stopper, *tasks.values()}
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if self.stop.is_set():
            return 0
        for name, task in tasks.items():
            if task in done:
                exc = task.exception()
                self.frontend_state[name] = "failed"
                log.error("the %s front-end ended unexpectedly: %s", name, exc or "returned")
        return 1

    async def _stop_frontends(self, tasks: dict[str, asyncio.Task[None]]) -> None:
        self.stop.set()
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks.values(), timeout=FRONTEND_STOP_S)
        for task in pending:
            log.warning(
                "front-end %s did not stop in %g s; cancelling it", task.get_name(), FRONTEND_STOP_S
            )
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            name = task.get_name()
            if self.frontend_state.get(name) == "failed":
                continue  # already reported by _watch
            if task in done and not task.cancelled() and task.exception() is not None:
                log.error("front-end %s failed while stopping: %s", name, task.exception())
                self.frontend_state[name] = "failed"
            else:
                self.frontend_state[name] = "stopped"


def _bound_port(web_runner: web.AppRunner) -> int | None:
    for address in web_runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None
