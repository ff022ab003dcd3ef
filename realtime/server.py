"""The OSC control server: verifies each datagram, turns it into engine commands, replies.

Runs on one asyncio loop, which is the single producer of the engine's command ring.
Replies go to the sender's address and port: ``/done ADDRESS ...`` once the engine
has applied the command (so a caller knows a track is loaded before it asks to play
it), ``/error ADDRESS message`` otherwise. Dropped datagrams get no reply; they are
counted, and logged as one summary line per interval (:mod:`realtime.droplog`).

With ``compat="crowdstream"`` Crowdstream's vocabulary is understood too
(:mod:`realtime.crowdstream`). Hosts in ``trusted_movement`` may send the movement
addresses unsigned, because a movement detector cannot sign.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, cast

from realtime import protocol as p
from realtime.crowdstream import CrowdstreamVocabulary
from realtime.decks import DeckIdError, letter, parse_deck
from realtime.droplog import DEFAULT_INTERVAL_S, DropLog
from realtime.engine import Cmd, Engine
from realtime.eq import BANDS, MAX_BOOST_DB, band_index, db_to_gain
from realtime.errors import CommandError
from realtime.protocol import MAX_BPM, MAX_RAMP_S, MIN_BPM
from realtime.ring import RingFull
from realtime.track import Track, TrackError, display_name, load_track, resolve_music_path

log = logging.getLogger("realtime.server")

APPLY_TIMEOUT_S = 2.0
LOAD_WAIT_TIMEOUT_S = 120.0


Handler = Callable[[list[Any]], Awaitable[tuple[Any, ...]]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DROP_REASONS = (*p.MessageVerifier.REASONS, "busy")


def parse_trusted_hosts(spec: str) -> list[Network]:
    """``HOST[,HOST...]`` where HOST is an IP address or a network (``192.168.1.0/24``).
    Names are resolved by the CLI before they get here."""
    nets: list[Network] = []
    for part in spec.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {text!r}") from None
    if not nets:
        raise ValueError("no host given")
    return nets


def _source_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class ControlServer(CrowdstreamVocabulary, asyncio.DatagramProtocol):
    def __init__(
        self,
        engine: Engine,
        music_dir: Path,
        token: str,
        loader: Executor,
        compat: str | None = None,
        trusted_movement: Iterable[Network] = (),
        drop_log_interval_s: float = DEFAULT_INTERVAL_S,
    ):
        self.engine = engine
        self.music_dir = music_dir
        self.loader = loader
        self.compat = compat
        self.trusted_movement = list(trusted_movement)
        self.verifier = p.MessageVerifier(token)
        self.drops = DropLog(DROP_REASONS, drop_log_interval_s)
        self.dropped = self.drops.total
        self.movement_messages = 0
        self.last_movement: float | None = None
        self._last_auto_target: float | None = None
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
            p.EQ: self._eq,
            p.CS_TOTAL_MOVEMENT: self._total_movement,
        }
        if compat == "crowdstream":
            self._handlers.update(self.crowdstream_handlers())
        elif compat is not None:
            raise ValueError(f"unknown compat vocabulary {compat!r}; known: crowdstream")

    # ---- datagram plumbing ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self._receive(data, addr)
        except Exception:  # a datagram must never take the server down; count it
            log.debug("datagram from %s failed", addr, exc_info=True)
            self._drop("malformed", addr, "?")

    def _receive(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            address, params = p.decode_message(data)
        except ValueError:
            self._drop("malformed", addr, "?")
            return
        if (
            address in p.MOVEMENT_ADDRESSES
            and not p.MessageVerifier.looks_signed(params)
            and self._trusted(addr)
        ):
            self._unsigned_movement(address, params, addr)
            return
        verdict = self.verifier.check(address, params)
        if not verdict.ok:
            self._drop(verdict.reason, addr, address)
            return
        task = asyncio.get_running_loop().create_task(self._handle(address, verdict.args, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _trusted(self, addr: tuple[str, int]) -> bool:
        if not self.trusted_movement:
            return False
        ip = _source_ip(addr[0])
        return ip is not None and any(ip in net for net in self.trusted_movement)

    def _unsigned_movement(self, address: str, params: list[Any], addr: tuple[str, int]) -> None:
        """Checked and posted at once, so a chatty detector (or a flood from a spoofed
        trusted address) costs one ring slot and one task per *changed* target only."""
        try:
            level = self._movement_level(address, params)
        except CommandError as exc:
            self._reply(addr, p.ERROR, [address, str(exc)])
            return
        try:
            posted = self._set_auto_target(level)
        except CommandError:
            self._drop("busy", addr, address)
            return
        if not posted:
            self._reply(addr, p.DONE, [address])
            return
        task = asyncio.get_running_loop().create_task(self._handle(address, [], addr, applied=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _drop(self, reason: str, addr: tuple[str, int], address: str) -> None:
        self.drops.drop(reason, addr, address)

    def _reply(self, addr: tuple[str, int], address: str, args: Sequence[p.OscArg]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(p.encode_message(address, list(args)), addr)

    def known_addresses(self) -> list[str]:
        return sorted(set(self._handlers) | {p.STATUS})

    async def _handle(
        self, address: str, args: list[Any], addr: tuple[str, int], applied: bool = False
    ) -> None:
        """Run a handler and reply. ``applied``: the command is already posted; only wait
        until the engine has applied it (unsigned movement)."""
        try:
            if applied:
                await self._post_wait_applied()
                self._reply(addr, p.DONE, [address])
                return
            if address == p.STATUS:
                self._reply(addr, p.STATUS, [json.dumps(self.status())])
                return
            handler = self._handlers.get(address)
            if handler is None:
                raise CommandError(f"unknown address; known: {', '.join(self.known_addresses())}")
            extra = await handler(args)
            self._reply(addr, p.DONE, [address, *extra])
        except CommandError as exc:
            self._reply(addr, p.ERROR, [address, self._scrub(str(exc))])
        except Exception:
            # The trace goes to the log under an id; the reply carries only the id.
            error_id = uuid.uuid4().hex[:8]
            log.exception("%s failed (error id %s)", address, error_id)
            self._reply(addr, p.ERROR, [address, f"internal error (id {error_id}, see the log)"])

    def _scrub(self, message: str) -> str:
        """Belt and braces: no reply names where the music folder is."""
        for root in {str(self.music_dir.resolve()), str(self.music_dir.absolute())}:
            message = message.replace(root + "/", "").replace(root, "(music folder)")
        return message

    def status(self) -> dict[str, Any]:
        self.engine.retired.drain()
        state = self.engine.snapshot()
        state["dropped_messages"] = sum(self.dropped.values())
        state["dropped_by_reason"] = dict(self.dropped)
        state["loading"] = sorted(letter(d) for d, fut in self._loading.items() if not fut.done())
        state["compat"] = self.compat
        state["trusted_movement_from"] = [str(n) for n in self.trusted_movement]
        state["movement_messages"] = self.movement_messages
        state["last_movement"] = self.last_movement
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
            raise CommandError("missing deck (0-3 or A-D)")
        try:
            return parse_deck(args[i], len(self.engine.decks))
        except DeckIdError as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def _float(value: Any, name: str) -> float:
        """Any number (not a bool), or a string holding one; NaN refused."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise CommandError(f"{name} must be a number, got {_shown(value)}")
        try:
            number = float(value)
        except ValueError:
            raise CommandError(f"{name} must be a number, got {_shown(value)}") from None
        if math.isnan(number):
            raise CommandError(f"{name} must be a number, got NaN")
        return number

    @classmethod
    def _number(
        cls,
        args: list[Any],
        i: int,
        name: str,
        lo: float,
        hi: float,
        default: float | None = None,
    ) -> float:
        if len(args) <= i:
            if default is None:
                raise CommandError(f"missing {name}")
            return default
        value = cls._float(args[i], name)
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
            raise CommandError(f"deck {letter(deck)} has no track loaded")

    # ---- handlers -------------------------------------------------------------------

    async def _load(self, args: list[Any]) -> tuple[Any, ...]:
        deck = self._deck(args)
        if len(args) < 2 or not isinstance(args[1], str):
            raise CommandError("usage: /load deck path [bpm]")
        bpm = self._number(args, 2, "bpm", MIN_BPM, MAX_BPM) if len(args) > 2 else None
        track = await self._load_track(deck, args[1], bpm)
        return (deck, track.note) if track.note else (deck,)

    async def _load_track(
        self,
        deck: int,
        relative: str,
        bpm: float | None,
        start: float = 0.0,
        looping: bool = False,
    ) -> Track:
        """Decode ``relative`` in the loader process and hand it to the engine, parked at
        ``start`` (a fraction of its length, Crowdstream's start_pos) and looping or not."""
        try:
            resolve_music_path(self.music_dir, relative)  # refuse early, before any work
        except TrackError as exc:
            raise CommandError(str(exc)) from None
        shown = display_name(self.music_dir, relative)
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
                raise CommandError(f"{shown}: not enough memory to load it") from None
            if generation != self._load_generation[deck]:
                raise CommandError(f"deck {letter(deck)}: superseded by a later load")
            position = min(max(start, 0.0), 1.0) * track.frames
            await self._post(Cmd.LOAD, deck, position, 1.0 if looping else 0.0, payload=track)
        finally:
            if not settled.done():
                settled.set_result(None)
        tempo = f"{track.bpm:.2f} BPM {track.bpm_source}" if track.bpm else track.note
        log.info("deck %s loaded %s (%s)", letter(deck), ascii(shown), tempo)
        return track

    async def _play(self, args: list[Any]) -> tuple[Any, ...]:
        if len(args) > 1:
            raise CommandError(
                "usage: /play deck (Crowdstream's /play deck path start_at needs "
                "cratebot-pi --compat crowdstream)"
            )
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
        self._set_auto_target(self._movement_level(p.MOVEMENT, args))
        await self._post_wait_applied()
        return ()

    async def _total_movement(self, args: list[Any]) -> tuple[Any, ...]:
        self._set_auto_target(self._movement_level(p.CS_TOTAL_MOVEMENT, args))
        await self._post_wait_applied()
        return ()

    def _movement_level(self, address: str, args: list[Any]) -> float:
        """Ours: 0..1, strictly. Crowdstream's detector: any finite float, clamped to 0..1
        (its server reads values above 1 as full movement)."""
        if address == p.MOVEMENT:
            return self._number(args, 0, "movement level", 0.0, 1.0)
        if len(args) != 1:
            raise CommandError("usage: /dance/total_movement value")
        value = self._float(args[0], "movement value")
        if not math.isfinite(value):
            raise CommandError("movement value must be a finite number")
        return min(1.0, max(0.0, value))

    def _set_auto_target(self, level: float) -> bool:
        """Post the movement's target tempo; False when the engine already has it."""
        self.movement_messages += 1
        self.last_movement = level
        target = self.engine.auto.target_for(level)
        if target == self._last_auto_target and self.engine.auto_target == target:
            return False  # nothing new for the engine; keeps a flood from filling the ring
        try:
            self.engine.commands.post(Cmd.AUTO_TARGET, 0, target)
        except RingFull as exc:
            raise CommandError(str(exc)) from exc
        self._last_auto_target = target
        return True

    async def _post_wait_applied(self) -> None:
        """Wait until the engine has applied everything posted so far."""
        seq = self.engine.commands.posted
        loop = asyncio.get_running_loop()
        deadline = loop.time() + APPLY_TIMEOUT_S
        while self.engine.applied_seq < seq:
            if loop.time() > deadline:
                raise CommandError("queued, but the audio engine did not apply it within 2 s")
            await asyncio.sleep(0.002)

    async def _eq(self, args: list[Any]) -> tuple[Any, ...]:
        deck = self._deck(args)
        if len(args) != 3:
            raise CommandError("usage: /eq deck low|mid|high gain_db (-inf .. +6)")
        band = self._band(args[1])
        db = self._float(args[2], "gain_db")
        if db > MAX_BOOST_DB:
            raise CommandError(f"gain_db must be between -inf and +{MAX_BOOST_DB:g}, got {db:g}")
        await self._post(Cmd.EQ, deck, float(band), db_to_gain(db))
        return (deck,)

    @staticmethod
    def _band(value: Any) -> int:
        if not isinstance(value, str):
            raise CommandError(f"band must be {'|'.join(BANDS)}, got {_shown(value)}")
        try:
            return band_index(value)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    async def _method(self, args: list[Any]) -> tuple[Any, ...]:
        if not args:
            raise CommandError(f"usage: /method {'|'.join(self.engine.methods)}")
        method = str(args[0])
        if method not in self.engine.methods:
            raise CommandError(self.engine.method_error(method))
        await self._post(Cmd.METHOD, 0, payload=method)
        return ()

    async def close(self) -> None:
        self.drops.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.transport is not None:
            self.transport.close()


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
