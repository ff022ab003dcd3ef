"""Crowdstream's audio-server vocabulary (``cratebot-pi --compat crowdstream``).

Same addresses and argument meanings as Crowdstream's ``audio-mixer/audio_server.py``,
signed with our scheme like every other control message, answered ``/done ADDRESS``
or ``/error ADDRESS message``:

* ``/cue deck path [start_pos]`` loads and parks a deck; ``start_pos`` is a *fraction*
  of the track (0..1), as in Crowdstream's players. Cued decks loop at their end.
* ``/start_group start_at deck...`` or ``/start_group deck... start_at`` starts cued
  decks on one sample. ``start_at`` (and ``/play``'s and ``/fade``'s) is seconds after
  the last ``/reset`` (server start before any), as Crowdstream documents it; a time
  already past starts at once.
* ``/play deck path start_at`` = ``/cue deck path 0`` + ``/start_group start_at deck``.
* ``/fade deck start_at [duration]``: deck level to 0, linearly, over ``duration``
  seconds (2 by default).
* ``/deck_levels a [b [c [d]]]``, ``/crossfade_levels a b``: deck levels (0..1; the
  crossfader position is left alone). Missing ones keep their level.
* ``/deck_eq deck low|mid|high percent``, ``/deck_eq_all deck low mid high``: percent
  50 = flat, 0 = band cut to silence, between them -24..0 dB, above 50 flat (cut-only,
  like Crowdstream).
* ``/set_tempo bpm``: tempo at once; auto tempo stays as it is.
* ``/get_status``: ``/done /get_status json`` (the ``/status`` JSON).
* ``/reset``: time zero for ``start_at``.

Decks are ``A``-``D`` (any case) or ``0``-``3``. Like Crowdstream, numbers out of range
are clamped (levels, percents, positions); anything that is not a number is refused.
Arrays (python-osc sends a list argument as one) are flattened.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from realtime import protocol as p
from realtime.decks import looks_like_deck_letter
from realtime.engine import Cmd
from realtime.eq import crowdstream_percent_to_gain
from realtime.errors import CommandError
from realtime.protocol import MAX_BPM, MIN_BPM
from realtime.track import display_name

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

MAX_START_AT_S = 24 * 3600.0
DEFAULT_FADE_S = 2.0
MAX_FADE_S = 600.0


def flatten(args: list[Any]) -> list[Any]:
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, list | tuple):
            out.extend(arg)
        else:
            out.append(arg)
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class CrowdstreamVocabulary:
    """Mixed into :class:`realtime.server.ControlServer`; relies on its helpers."""

    # Provided by ControlServer.
    engine: Any
    music_dir: Any
    _deck: Any
    _float: Any
    _number: Any
    _band: Any
    _post: Any
    _wait_loaded: Any
    _load_track: Any
    _loading: dict[int, Any]
    status: Any
    _start_group: Any
    _play: Any

    def crowdstream_handlers(self) -> dict[str, Callable[[list[Any]], Awaitable[tuple[Any, ...]]]]:
        return {
            p.CS_CUE: self._cs_cue,
            p.CS_PLAY: self._play_either,
            p.CS_START_GROUP: self._start_group_either,
            p.CS_FADE: self._cs_fade,
            p.CS_DECK_LEVELS: self._cs_deck_levels,
            p.CS_CROSSFADE_LEVELS: self._cs_crossfade_levels,
            p.CS_DECK_EQ: self._cs_deck_eq,
            p.CS_DECK_EQ_ALL: self._cs_deck_eq_all,
            p.CS_SET_TEMPO: self._cs_set_tempo,
            p.CS_GET_STATUS: self._cs_get_status,
            p.CS_RESET: self._cs_reset,
        }

    # ---- helpers --------------------------------------------------------------------

    def _clamped(self, value: Any, name: str, lo: float, hi: float) -> float:
        number = float(self._float(value, name))
        if math.isinf(number):
            return lo if number < 0 else hi
        return min(hi, max(lo, number))

    def _start_sample(self, start_at: float) -> int:
        """Engine sample ``start_at`` seconds after the last /reset."""
        engine = self.engine
        return int(engine.reset_sample + round(start_at * engine.sample_rate))

    def _path(self, args: list[Any], i: int, usage: str) -> str:
        if len(args) <= i or not isinstance(args[i], str) or not args[i]:
            raise CommandError(f"usage: {usage}")
        return str(args[i])

    async def _cue_deck(self, deck: int, path: str, start: float) -> None:
        """Load ``path`` unless the deck already holds it, then park it at ``start``."""
        current = self.engine.decks[deck].track
        pending = self._loading.get(deck)
        same = current is not None and current.name == display_name(self.music_dir, path)
        if same and (pending is None or pending.done()):
            await self._post(Cmd.CUE, deck, start * current.frames, 1.0)
        else:
            await self._load_track(deck, path, None, start=start, looping=True)

    # ---- handlers -------------------------------------------------------------------

    async def _cs_cue(self, args: list[Any]) -> tuple[Any, ...]:
        args = flatten(args)
        usage = "/cue deck path [start_pos 0..1]"
        if not 2 <= len(args) <= 3:
            raise CommandError(f"usage: {usage}")
        deck = self._deck(args)
        path = self._path(args, 1, usage)
        start = self._clamped(args[2], "start_pos", 0.0, 1.0) if len(args) > 2 else 0.0
        await self._cue_deck(deck, path, start)
        return ()

    async def _play_either(self, args: list[Any]) -> tuple[Any, ...]:
        """Ours: ``/play deck``. Crowdstream's: ``/play deck path start_at``."""
        args = flatten(args)
        if len(args) <= 1:
            return await self._play(args)  # type: ignore[no-any-return]
        usage = "/play deck (ours) or /play deck path start_at (Crowdstream)"
        if len(args) != 3:
            raise CommandError(f"usage: {usage}")
        deck = self._deck(args)
        path = self._path(args, 1, usage)
        start_at = self._clamped(args[2], "start_at", -MAX_START_AT_S, MAX_START_AT_S)
        await self._cue_deck(deck, path, 0.0)
        await self._wait_loaded(deck)
        await self._post(Cmd.SCHEDULE, 0, float(1 << deck), float(self._start_sample(start_at)))
        return ()

    async def _start_group_either(self, args: list[Any]) -> tuple[Any, ...]:
        """Ours: ``/start_group deck...`` (deck ids only, starts now). Crowdstream's:
        ``/start_group start_at deck...`` or ``/start_group deck... start_at``."""
        args = flatten(args)
        has_letter = any(looks_like_deck_letter(a) for a in args)
        has_float = any(isinstance(a, float) for a in args)
        number_at_edge = bool(args) and (_is_number(args[0]) or _is_number(args[-1]))
        # Deck ids alone (numbers or letters) are ours: start now. A float, or a letter
        # next to a number at either end, is Crowdstream's start_at form.
        if args and not has_float and not (has_letter and number_at_edge):
            return await self._start_group(args)  # type: ignore[no-any-return]
        usage = "/start_group start_at deck... or /start_group deck... start_at"
        if len(args) < 2:
            raise CommandError(f"usage: {usage}")
        first, last = args[0], args[-1]
        if isinstance(first, float) or (_is_number(first) and not isinstance(last, float)):
            start_arg, deck_args = first, args[1:]
        elif _is_number(last):
            start_arg, deck_args = last, args[:-1]
        else:
            raise CommandError(f"usage: {usage} (start_at is a number in seconds)")
        start_at = self._clamped(start_arg, "start_at", -MAX_START_AT_S, MAX_START_AT_S)
        decks = sorted({self._deck(deck_args, i) for i in range(len(deck_args))})
        for deck in decks:
            await self._wait_loaded(deck)
        mask = sum(1 << d for d in decks)
        await self._post(Cmd.SCHEDULE, 0, float(mask), float(self._start_sample(start_at)))
        return ()

    async def _cs_fade(self, args: list[Any]) -> tuple[Any, ...]:
        args = flatten(args)
        if not 2 <= len(args) <= 3:
            raise CommandError("usage: /fade deck start_at [duration]")
        deck = self._deck(args)
        start_at = self._clamped(args[1], "start_at", -MAX_START_AT_S, MAX_START_AT_S)
        duration = (
            self._clamped(args[2], "duration", 0.0, MAX_FADE_S) if len(args) > 2 else DEFAULT_FADE_S
        )
        length = float(round(duration * self.engine.sample_rate))
        await self._post(Cmd.FADE, deck, float(self._start_sample(start_at)), length)
        return ()

    async def _set_levels(self, levels: list[Any]) -> None:
        if len(levels) > len(self.engine.decks):
            raise CommandError(f"at most {len(self.engine.decks)} levels (one per deck)")
        values = [self._clamped(v, "level", 0.0, 1.0) for v in levels]
        for deck, value in enumerate(values):
            await self._post(Cmd.VOLUME, deck, value)

    async def _cs_deck_levels(self, args: list[Any]) -> tuple[Any, ...]:
        await self._set_levels(flatten(args))
        return ()

    async def _cs_crossfade_levels(self, args: list[Any]) -> tuple[Any, ...]:
        args = flatten(args)
        if len(args) != 2:
            raise CommandError("usage: /crossfade_levels a b (levels of decks A and B)")
        await self._set_levels(args)
        return ()

    async def _cs_deck_eq(self, args: list[Any]) -> tuple[Any, ...]:
        args = flatten(args)
        if len(args) != 3:
            raise CommandError("usage: /deck_eq deck low|mid|high percent (50 = flat, 0 = cut)")
        deck = self._deck(args)
        band = self._band(args[1])
        percent = self._clamped(args[2], "percent", 0.0, 100.0)
        await self._post(Cmd.EQ, deck, float(band), crowdstream_percent_to_gain(percent))
        return ()

    async def _cs_deck_eq_all(self, args: list[Any]) -> tuple[Any, ...]:
        args = flatten(args)
        if len(args) != 4:
            raise CommandError("usage: /deck_eq_all deck low mid high (percents, 50 = flat)")
        deck = self._deck(args)
        gains = [
            crowdstream_percent_to_gain(self._clamped(v, "percent", 0.0, 100.0)) for v in args[1:]
        ]
        for band, gain in enumerate(gains):
            await self._post(Cmd.EQ, deck, float(band), gain)
        return ()

    async def _cs_set_tempo(self, args: list[Any]) -> tuple[Any, ...]:
        args = flatten(args)
        if len(args) != 1:
            raise CommandError("usage: /set_tempo bpm")
        await self._post(Cmd.SET_TEMPO, 0, self._number(args, 0, "bpm", MIN_BPM, MAX_BPM))
        return ()

    async def _cs_get_status(self, args: list[Any]) -> tuple[Any, ...]:
        return (json.dumps(self.status()),)

    async def _cs_reset(self, args: list[Any]) -> tuple[Any, ...]:
        await self._post(Cmd.RESET)
        return ()
