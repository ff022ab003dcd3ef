"""The server: everything ``cratebot serve`` is, assembled here — the job runner, the
command layer on it, the HTTP server (``bot/web/app.py``: health and download links)
and the configured chat front-ends — run until SIGTERM/SIGINT.

Shutdown order matters: first the layer stops taking commands and the front-ends
disconnect, then the runner stops (running jobs are killed and re-queued, so the
next start resumes them), then the HTTP server and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import random
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot import frontend_status
from bot.commands.api import CommandLayerAPI
from core.errors import CrateBotError, NotAvailable
from core.settings import Settings

log = logging.getLogger("cratebot.serve")

FRONTENDS = {
    "telegram": ("telegram_token", "bot.telegram.frontend", "run_telegram"),
    "discord": ("discord_token", "bot.discord.frontend", "run_discord"),
}
FRONTEND_STOP_S = 20.0
#: Reconnect delays: doubling from BACKOFF_BASE_S up to BACKOFF_CAP_S, each drawn at random
#: from its upper half so that many bots cut off together do not return in lockstep.
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
#: A front-end that ran this long before failing starts its backoff afresh.
HEALTHY_RUN_S = 300.0
#: Errors no retry can fix (a wrong token, a missing library): the front-end is "down".
FATAL_ERRORS = frozenset({"InvalidToken", "LoginFailure", "PrivilegedIntentsRequired"})


def backoff_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect number ``failures`` (1, 2, ...): capped, jittered."""
    ceiling: float = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** max(0, failures - 1))
    jitter: float = (rng or random).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


def _is_fatal(exc: BaseException) -> bool:
    return isinstance(exc, NotAvailable | FrontendMissing) or type(exc).__name__ in FATAL_ERRORS


class FrontendMissing(CrateBotError):
    pass


FrontendFn = Callable[[Settings, CommandLayerAPI, asyncio.Event], Coroutine[Any, Any, None]]


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
    layer: CommandLayerAPI | None = None
    runner: Any = None
    rng: random.Random = field(default_factory=random.Random)

    def request_stop(self) -> None:
        """What SIGTERM does: refuse new commands at once, then wind everything down."""
        if self.layer is not None:
            self.layer.stop_accepting()
        self.stop.set()

    def health(self) -> dict[str, Any]:
        """``status``: ``ok`` when the runner and every front-end are fine, ``degraded``
        when a front-end is reconnecting or down (jobs and links still work), ``down``
        when the job runner is not running."""
        runner = self.runner.health() if self.runner is not None else {"state": "starting"}
        states = set(self.frontend_state.values())
        if runner["state"] != "ok":
            status = "down" if self.ready.is_set() else "starting"
        elif states - {frontend_status.OK}:
            status = "degraded"
        else:
            status = "ok"
        return {
            "status": status,
            "frontends": dict(self.frontend_state),
            "runner": runner,
            "accepting": not self.stop.is_set(),
        }

    async def run(self, install_signals: bool = True) -> int:
        from bot.commands.keys import link_key
        from bot.commands.layer import CommandLayer
        from bot.web.api import api_feature
        from bot.web.app import MAX_FIELD_SIZE, MAX_LINE_SIZE, build_app
        from bot.web.pages import pages_feature
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
        runner = self.runner = make_runner(settings, db, self.kinds)
        layer = self.layer = CommandLayer(settings, runner, db)
        key = link_key(settings)
        app = build_app(
            settings, key, self.health, [api_feature(layer), pages_feature(settings, key, db)]
        )
        web_runner = web.AppRunner(
            app, access_log=None, max_line_size=MAX_LINE_SIZE, max_field_size=MAX_FIELD_SIZE
        )
        code = 0
        try:
            await runner.start()
            if self.stop.is_set():
                layer.stop_accepting()
            await web_runner.setup()
            site = web.TCPSite(web_runner, settings.http_host, settings.http_port)
            await site.start()
            self.port = _bound_port(web_runner)
            from core.settings import default_public_url

            derived = default_public_url(settings.http_host, 0)
            if settings.http_port == 0 and settings.public_url.rstrip("/") == derived:
                # `--port 0` picks a free port only now: links must name that one.
                settings = settings.model_copy(
                    update={"public_url": default_public_url(settings.http_host, self.port or 0)}
                )
                self.settings = layer.settings = settings
            log.info(
                "listening on http://%s:%s (links: %s)",
                settings.http_host,
                self.port,
                settings.public_url,
            )
            tasks = {
                name: asyncio.create_task(self._supervise(name, func, layer), name=name)
                for name, func in frontends.items()
            }
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

    async def _supervise(self, name: str, func: FrontendFn, layer: Any) -> None:
        """Run one front-end until stop, reconnecting after every failure with capped,
        jittered backoff; only an error no retry can fix leaves it ``down``."""
        failures = 0

        def reporter(state: str, detail: str = "") -> None:
            nonlocal failures
            previous = self.frontend_state.get(name)
            self.frontend_state[name] = state
            if state == frontend_status.OK:
                failures = 0
                if previous == frontend_status.RECONNECTING:
                    log.info("the %s front-end is connected again", name)

        frontend_status.set_reporter(reporter)  # this task's own context
        while not self.stop.is_set():
            if name not in self.frontend_state or failures == 0:
                self.frontend_state[name] = frontend_status.STARTING
            began = time.monotonic()
            try:
                await func(self.settings, layer, self.stop)
                if self.stop.is_set():
                    return
                reason = "it returned"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect, never exit
                if self.stop.is_set():
                    return
                if _is_fatal(exc):
                    self.frontend_state[name] = frontend_status.DOWN
                    log.error("the %s front-end cannot run: %s", name, exc)
                    return
                reason = f"{type(exc).__name__}: {exc}"
            if time.monotonic() - began > HEALTHY_RUN_S:
                failures = 0
            failures += 1
            delay = backoff_delay(failures, self.rng)
            self.frontend_state[name] = frontend_status.RECONNECTING
            log.warning(
                "the %s front-end stopped (%s); reconnecting in %.1f s (attempt %d)",
                name,
                reason,
                delay,
                failures,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)

    async def _watch(self, tasks: dict[str, asyncio.Task[None]]) -> int:
        """Wait for the stop signal. Front-ends reconnect on their own (``_supervise``);
        one that is ``down`` stays down while jobs and links keep working."""
        await self.stop.wait()
        return 0

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
            if self.frontend_state.get(name) == frontend_status.DOWN:
                continue  # already reported by _supervise
            if task in done and not task.cancelled() and task.exception() is not None:
                log.error("front-end %s failed while stopping: %s", name, task.exception())
                self.frontend_state[name] = frontend_status.DOWN
            else:
                self.frontend_state[name] = "stopped"


def _bound_port(web_runner: web.AppRunner) -> int | None:
    for address in web_runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None
