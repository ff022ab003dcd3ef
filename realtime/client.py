"""Async client for the venue Pi: signs a command, sends it over UDP, awaits the reply.

Example::

    client = PiClient("192.168.1.50", 57120, token="...", timeout=2.0)
    await client.send("/load", 0, "set1/track.ogg", timeout=30.0)  # decoding takes a while
    await client.send("/bpm", 126.0, 8.0)
    state = await client.status()  # dict parsed from the /status JSON

Each call uses its own UDP socket (a fresh local port), so concurrent calls never
receive each other's replies. The server answers ``/done ADDRESS ...`` or
``/error ADDRESS message``; ``/status`` answers ``/status json``. Dropped messages
(bad signature, stale, replayed) get no answer at all, which surfaces here as
:class:`PiTimeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from realtime import DEFAULT_PORT
from realtime.protocol import DONE, ERROR, STATUS, OscArg, decode_message, encode_signed


class PiError(Exception):
    """Base class for everything :class:`PiClient` raises."""


class PiTimeout(PiError):
    """No reply within the timeout: server down, wrong port, or the message was dropped
    (wrong token, clock more than 30 s off, replay)."""


class PiCommandError(PiError):
    """The server answered ``/error ADDRESS message``."""

    def __init__(self, address: str, message: str):
        super().__init__(f"{address}: {message}")
        self.address = address
        self.message = message


class _ReplyProtocol(asyncio.DatagramProtocol):
    def __init__(self, address: str, done: asyncio.Future[tuple[Any, ...]]):
        self._address = address
        self._done = done

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._done.done():
            return
        try:
            reply_address, params = decode_message(data)
        except ValueError:
            return
        first = params[0] if params else None
        if reply_address == DONE and first == self._address:
            self._done.set_result(tuple(params[1:]))
        elif reply_address == ERROR and first == self._address:
            message = str(params[1]) if len(params) > 1 else "unspecified error"
            self._done.set_exception(PiCommandError(self._address, message))
        elif reply_address == self._address == STATUS:
            self._done.set_result(tuple(params))

    def error_received(self, exc: Exception) -> None:
        # On Linux an ICMP "port unreachable" arrives here: nobody listens there.
        if not self._done.done():
            self._done.set_exception(PiError(f"{self._address}: {exc}"))


class PiClient:
    """Signs and sends control messages to a ``cratebot-pi`` server.

    ``token`` is the shared secret (``None`` or ``""`` only for a server on loopback
    started without one). ``timeout`` is the default seconds to wait for a reply.
    """

    def __init__(
        self, host: str, port: int = DEFAULT_PORT, token: str | None = None, timeout: float = 2.0
    ):
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.host = host
        self.port = port
        self.token = token or ""
        self.timeout = timeout

    async def send(
        self, address: str, *args: OscArg, timeout: float | None = None
    ) -> tuple[Any, ...]:
        """Send ``address`` with ``args`` and return the reply's arguments.

        For ``/done ADDRESS x y`` this returns ``(x, y)``; for ``/status`` it returns
        ``(json_text,)``. Raises :class:`PiCommandError` on ``/error`` and
        :class:`PiTimeout` when nothing comes back in time.
        """
        if not address.startswith("/"):
            raise ValueError(f"OSC address must start with '/', got {address!r}")
        wait = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[Any, ...]] = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _ReplyProtocol(address, done), remote_addr=(self.host, self.port)
        )
        try:
            transport.sendto(encode_signed(self.token, address, list(args)))
            try:
                return await asyncio.wait_for(done, wait)
            except TimeoutError:
                raise PiTimeout(
                    f"{address}: no reply from {self.host}:{self.port} within {wait:g} s "
                    "(server down, wrong token or port, or clock skew over 30 s)"
                ) from None
        finally:
            transport.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                if not done.done():
                    done.cancel()

    async def status(self, timeout: float | None = None) -> dict[str, Any]:
        """``/status`` parsed into a dict (bpm, target_bpm, method, decks, ...)."""
        reply = await self.send(STATUS, timeout=timeout)
        if not reply or not isinstance(reply[0], str):
            raise PiError(f"/status reply has no JSON text: {reply!r}")
        state: dict[str, Any] = json.loads(reply[0])
        return state


def parse_cli_args(words: Sequence[str]) -> list[OscArg]:
    """Turn shell words into OSC args: ints, then floats, else strings (``"1"`` -> 1)."""
    out: list[OscArg] = []
    for word in words:
        try:
            out.append(int(word))
            continue
        except ValueError:
            pass
        try:
            out.append(float(word))
        except ValueError:
            out.append(word)
    return out
