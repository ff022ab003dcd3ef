"""One status message per command, edited as the job advances.

Telegram answers an edit that changes nothing with "message is not modified" and
rate-limits chats that edit too often, so edits are coalesced: at most one per
``min_interval`` seconds, the latest text wins, identical text is never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.commands.api import Progress

log = logging.getLogger("cratebot.telegram")

Send = Callable[[str], Awaitable[int]]  # sends a new message, returns its id
Edit = Callable[[int, str], Awaitable[None]]  # edits message id to text

BAR_CELLS = 10


def progress_line(update: Progress) -> str:
    """``stems 1a2b3c4d · separating 3/8 · [#####-----] 50%`` (plain text)."""
    pct = max(0.0, min(1.0, update.fraction))
    filled = round(pct * BAR_CELLS)
    bar = "#" * filled + "-" * (BAR_CELLS - filled)
    text = update.text or update.state
    if update.state == "queued":
        line = f"{update.kind} {update.job_id[:8]} · queued"
        if text and text != "queued":
            line += f" · {text}"
    else:
        line = f"{update.kind} {update.job_id[:8]} · {text} · [{bar}] {round(pct * 100)}%"
    if update.reused:
        line += "\n(an equal job was already running; following that one)"
    return line


class StatusMessage:
    """Sends one message on the first :meth:`show`, then edits it (throttled)."""

    def __init__(self, send: Send, edit: Edit, min_interval: float = 1.0) -> None:
        self._send = send
        self._edit = edit
        self._interval = min_interval
        self.message_id: int | None = None
        self._shown: str | None = None
        self._pending: str | None = None
        self._last = 0.0
        self._flush: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.edits = 0

    @property
    def shown(self) -> str | None:
        """The text the message shows now (None before it was sent)."""
        return self._shown

    async def show(self, text: str) -> None:
        """Show ``text`` now if allowed, else as soon as the interval has passed."""
        self._pending = text
        if self.message_id is None:
            await self._write()
            return
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0 and self._flush is None:
            await self._write()
        elif self._flush is None:
            self._flush = asyncio.create_task(self._flush_after(max(wait, 0.0)))

    async def finish(self, text: str) -> None:
        """Show the final ``text`` (waiting out the interval) and stop editing."""
        await self._cancel_flush()
        self._pending = text
        if self.message_id is not None:
            wait = self._last + self._interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        await self._write()

    async def close(self) -> None:
        await self._cancel_flush()

    async def _cancel_flush(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
            self._flush = None

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self._write()
        except Exception:  # a failed progress edit must not end the command
            log.exception("progress edit failed")
        finally:
            self._flush = None

    async def _write(self) -> None:
        async with self._lock:
            text = self._pending
            if text is None or text == self._shown:
                return
            if self.message_id is None:
                self.message_id = await self._send(text)
            else:
                await self._edit(self.message_id, text)
                self.edits += 1
            self._shown = text
            self._last = time.monotonic()
