"""Dropped datagrams: counted always, logged as one summary line per interval.

An unauthenticated sender can send thousands of datagrams a second; one log line each
would fill the Pi's SD card and drown everything else. The first drop after a quiet
spell starts an interval; at its end one WARNING sums up what was dropped and why.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("realtime.server")

DEFAULT_INTERVAL_S = 10.0


def _clean(text: str, limit: int = 60) -> str:
    """A sender-chosen string made safe for one log line (no newlines, bounded)."""
    shown = ascii(text)[1:-1]
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class DropLog:
    def __init__(self, reasons: tuple[str, ...], interval_s: float = DEFAULT_INTERVAL_S):
        self.interval_s = interval_s
        self.total: dict[str, int] = dict.fromkeys(reasons, 0)
        self._window: dict[str, int] = dict.fromkeys(reasons, 0)
        self._last = ""
        self._pending: asyncio.TimerHandle | None = None

    def drop(self, reason: str, addr: tuple[str, int], address: str) -> None:
        self.total[reason] = self.total.get(reason, 0) + 1
        self._window[reason] = self._window.get(reason, 0) + 1
        self._last = f"{_clean(address)} from {addr[0]}:{addr[1]}"
        if self._pending is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._pending = loop.call_later(self.interval_s, self.flush)

    def flush(self) -> None:
        self._pending = None
        n = sum(self._window.values())
        if not n:
            return
        parts = ", ".join(f"{k} {v}" for k, v in self._window.items() if v)
        log.warning(
            "dropped %d datagram(s) in the last %.0f s (%s); last: %s",
            n, self.interval_s, parts, self._last,
        )  # fmt: skip
        for key in self._window:
            self._window[key] = 0

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self.flush()
