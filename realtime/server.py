"""The OSC control server: verifies each datagram, turns it into engine commands, replies.

Runs on one asyncio loop, which is the single producer of the engine's command ring.
Replies go to the sender's address and port: ``/done ADDRESS ...`` once the engine
has applied the command (so a caller knows a track is loaded before it asks to play
it), ``/error ADDRESS message`` otherwise. Dropped datagrams get no reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, cast

from realtime import protocol as p
from realtime.engine import Cmd, Engine
from realtime.protocol import MAX_BPM, MAX_RAMP_S, MIN_BPM
from realtime.ring import RingFull
from realtime.track import TrackError, load_track, resolve_music_path

log = logging.getLogger("realtime.server")

APPLY_TIMEOUT_S = 2.0
LOAD_WAIT_TIMEOUT_S = 120.0


class CommandError(Exception):
    """Turned into ``/error ADDRESS message``."""


Handler = Callable[[list[Any]], Awaitable[tuple[Any, ...]]]


class ControlServer(asyncio.DatagramProtocol):
    def __init__(self, engine: Engine, music_dir: Path, token: str, loader: Executor):
        self.engine = engine
        self.music_dir = music_dir
        self.loader = loader
        self.verifier = p.MessageVerifier(token)
        self.dropped: dict[str, int] = dict.fromkeys(p.MessageVerifier.REASONS, 0)
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loading: dict[int, asyncio.Future[None]] = {}
        self._load_generation = [0] * len(engine.decks)
        self._handlers: dict[str, Handler] = {
            p.LOAD: self._load,
            p.PLAY: self._play,
            p.STOP: self._stop,
            p.SEEK: self._seek,
            p.VOLUME: self._volume,
            p.CROSSFADE: self._crossfade,
            p.START_GROUP: self._start_group,
            p.BPM: self._bpm,
            p.BPM_AUTO: self._bpm_auto,
            p.MOVEMENT: self._movement,
            p.METHOD: self._method,
        }

    # ---- datagram plumbing ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            address, params = p.decode_message(data)
        except ValueError:
            self._drop("malformed", addr, "?")
            return
        verdict = self.verifier.check(address, params)
        if not verdict.ok:
            self._drop(verdict.reason, addr, address)
            return
        task = asyncio.get_running_loop().create_task(self._handle(address, verdict.args, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _drop(self, reason: str, addr: tuple[str, int], address: str) -> None:
        self.dropped[reason] += 1
        log.warning("dropped %s message %s from %s:%s", reason, address, addr[0], addr[1])

    def _reply(self, addr: tuple[str, int], address: str, args: Sequence[p.OscArg]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(p.encode_message(address, list(args)), addr)

    async def _handle(self, address: str, args: list[Any], addr: tuple[str, int]) -> None:
        try:
            if address == p.STATUS:
                self._reply(addr, p.STATUS, [json.dumps(self.status())])
                return
            handler = self._handlers.get(address)
            if handler is None:
                raise CommandError(
                    f"unknown address; known: {', '.join(sorted(p.CONTROL_ADDRESSES))}"
                )
            extra = await handler(args)
            self._reply(addr, p.DONE, [address, *extra])
        except CommandError as exc:
            self._reply(addr, p.ERROR, [address, str(exc)])
        except Exception as exc:
            log.exception("%s failed", address)
            self._reply(addr, p.ERROR, [address, f"internal error: {exc}"])

    def status(self) -> dict[str, Any]:
        self.engine.retired.drain()
        state = self.engine.snapshot()
        state["dropped_messages"] = sum(self.dropped.values())
        state["dropped_by_reason"] = dict(self.dropped)
        state["loading"] = sorted(d for d, fut in self._loading.items() if not fut.done())
        return state

    async def _post(
        self, code: Cmd, deck: int = 0, a: float = 0.0, b: float = 0.0, payload: Any = None
    ) -> None:
        """Queue a command and wait until the callback has applied it."""
        try:
            seq = self.engine.commands.post(code, deck, a, b, payload)
        except RingFull as exc:
            raise CommandError(str(exc)) from exc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + APPLY_TIMEOUT_S
        while self.engine.applied_seq < seq:
            if loop.time() > deadline:
                raise CommandError("queued, but the audio engine did not apply it within 2 s")
            await asyncio.sleep(0.002)
        self.engine.retired.drain()

    # ---- argument checks ------------------------------------------------------------

    def _deck(self, args: list[Any], i: int = 0) -> int:
        if len(args) <= i:
            raise CommandError("missing deck number")
        try:
            deck = int(args[i])
        except (TypeError, ValueError):
            raise CommandError(f"deck must be a number, got {args[i]!r}") from None
        if not 0 <= deck < len(self.engine.decks):
            raise CommandError(f"deck {deck} does not exist (0..{len(self.engine.decks) - 1})")
        return deck

    @staticmethod
    def _number(
        args: list[Any], i: int, name: str, lo: float, hi: float, default: float | None = None
    ) -> float:
        if len(args) <= i:
            if default is None:
                raise CommandError(f"missing {name}")
            return default
        try:
            value = float(args[i])
        except (TypeError, ValueError):
            raise CommandError(f"{name} must be a number, got {args[i]!r}") from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise CommandError(f"{name} must be between {lo:g} and {hi:g}, got {value:g}")
        return value

    async def _wait_loaded(self, deck: int) -> None:
        pending = self._loading.get(deck)
        if pending is not None and not pending.done():
            try:
                await asyncio.wait_for(asyncio.shield(pending), LOAD_WAIT_TIMEOUT_S)
            except TimeoutError:
                raise CommandError(f"deck {deck} is still loading") from None
        if self.engine.decks[deck].track is None:
            raise CommandError(f"deck {deck} has no track loaded")

    # ---- handlers -------------------------------------------------------------------

    async def _load(self, args: list[Any]) -> tuple[Any, ...]:
        deck = self._deck(args)
        if len(args) < 2:
            raise CommandError("usage: /load deck path [bpm]")
        relative = str(args[1])
        bpm = self._number(args, 2, "bpm", MIN_BPM, MAX_BPM) if len(args) > 2 else None
        try:
            resolve_music_path(self.music_dir, relative)  # refuse early, before any work
        except TrackError as exc:
            raise CommandError(str(exc)) from None
        self._load_generation[deck] += 1
        generation = self._load_generation[deck]
        loop = asyncio.get_running_loop()
        # Resolved once the engine holds the track (or the load failed), which is
        # what /play and /start_group wait for.
        settled: asyncio.Future[None] = loop.create_future()
        self._loading[deck] = settled
        try:
            try:
                track = await loop.run_in_executor(
                    self.loader, load_track, str(self.music_dir), relative,
                    self.engine.sample_rate, bpm,
                )  # fmt: skip
            except TrackError as exc:
                raise CommandError(str(exc)) from None
            except MemoryError:
                raise CommandError(f"{relative}: not enough memory to load it") from None
            if generation != self._load_generation[deck]:
                raise CommandError(f"deck {deck}: superseded by a later /load")
            await self._post(Cmd.LOAD, deck, payload=track)
        finally:
            if not settled.done():
                settled.set_result(None)
        log.info("deck %d loaded %s (%.2f BPM %s)", deck, relative, track.bpm, track.bpm_source)
        return (deck,)

    async def _play(self, args: list[Any]) -> tuple[Any, ...]:
        deck = self._deck(args)
        await self._wait_loaded(deck)
        await self._post(Cmd.PLAY, deck)
        return (deck,)

    async def _stop(self, args: list[Any]) -> tuple[Any, ...]:
        deck = self._deck(args)
        await self._post(Cmd.STOP, deck)
        return (deck,)

    async def _seek(self, args: list[Any]) -> tuple[Any, ...]:
        deck = self._deck(args)
        seconds = self._number(args, 1, "seconds", 0.0, 24 * 3600.0)
        await self._wait_loaded(deck)
        await self._post(Cmd.SEEK, deck, seconds)
        return (deck,)

    async def _volume(self, args: list[Any]) -> tuple[Any, ...]:
        deck = self._deck(args)
        await self._post(Cmd.VOLUME, deck, self._number(args, 1, "volume", 0.0, 1.0))
        return (deck,)

    async def _crossfade(self, args: list[Any]) -> tuple[Any, ...]:
        await self._post(Cmd.CROSSFADE, 0, self._number(args, 0, "crossfade", -1.0, 1.0))
        return ()

    async def _start_group(self, args: list[Any]) -> tuple[Any, ...]:
        if not args:
            raise CommandError("usage: /start_group deck [deck...]")
        decks = sorted({self._deck(args, i) for i in range(len(args))})
        for deck in decks:
            await self._wait_loaded(deck)
        mask = sum(1 << d for d in decks)
        await self._post(Cmd.START_GROUP, 0, float(mask))
        return ()

    async def _bpm(self, args: list[Any]) -> tuple[Any, ...]:
        bpm = self._number(args, 0, "bpm", MIN_BPM, MAX_BPM)
        ramp = self._number(args, 1, "ramp_seconds", 0.0, MAX_RAMP_S, default=0.0)
        await self._post(Cmd.BPM, 0, bpm, ramp)
        return ()

    async def _bpm_auto(self, args: list[Any]) -> tuple[Any, ...]:
        flag = self._number(args, 0, "/bpm_auto flag (0 or 1)", 0.0, 1.0)
        if flag not in (0.0, 1.0):
            raise CommandError(f"usage: /bpm_auto 0|1, got {args[0]!r}")
        await self._post(Cmd.BPM_AUTO, 0, flag)
        return ()

    async def _movement(self, args: list[Any]) -> tuple[Any, ...]:
        level = self._number(args, 0, "movement level", 0.0, 1.0)
        await self._post(Cmd.AUTO_TARGET, 0, self.engine.auto.target_for(level))
        return ()

    async def _method(self, args: list[Any]) -> tuple[Any, ...]:
        if not args:
            raise CommandError(f"usage: /method {'|'.join(self.engine.methods)}")
        method = str(args[0])
        if method not in self.engine.methods:
            raise CommandError(self.engine.method_error(method))
        await self._post(Cmd.METHOD, 0, payload=method)
        return ()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.transport is not None:
            self.transport.close()
