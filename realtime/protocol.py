"""The OSC wire contract: addresses, message signing, replay protection, encoding.

Every control message is ``ADDRESS ts sig arg...`` where ``ts`` is a string holding
Unix time in seconds and ``sig`` is the lowercase hex HMAC-SHA256, keyed with the
shared token, over ``ADDRESS + "\\n" + ts + "\\n" + "\\n".join(str(a) for a in args)``.

Because the signature covers ``str(arg)`` of the *decoded* argument, a sender must
encode floats as 64-bit OSC doubles (type tag ``d``) or as strings: a 32-bit float
decodes to a different Python float than the one that was signed (0.7 becomes
0.699999988...). :func:`encode_message` does that.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

MAX_AGE_S = 30.0
# What /bpm accepts (the bot checks the same limits before sending).
MIN_BPM = 40.0
MAX_BPM = 250.0
MAX_RAMP_S = 600.0

LOAD = "/load"
PLAY = "/play"
STOP = "/stop"
SEEK = "/seek"
VOLUME = "/volume"
CROSSFADE = "/crossfade"
START_GROUP = "/start_group"
BPM = "/bpm"
BPM_AUTO = "/bpm_auto"
MOVEMENT = "/movement"
METHOD = "/method"
EQ = "/eq"
STATUS = "/status"
DONE = "/done"
ERROR = "/error"

CONTROL_ADDRESSES: frozenset[str] = frozenset(
    {
        LOAD,
        PLAY,
        STOP,
        SEEK,
        VOLUME,
        CROSSFADE,
        START_GROUP,
        BPM,
        BPM_AUTO,
        MOVEMENT,
        METHOD,
        EQ,
        STATUS,
    }
)

# Crowdstream's audio server vocabulary (``cratebot-pi --compat crowdstream``).
CS_CUE = "/cue"
CS_PLAY = "/play"  # shared with ours; told apart by its arguments
CS_START_GROUP = "/start_group"  # shared with ours; told apart by its arguments
CS_FADE = "/fade"
CS_DECK_LEVELS = "/deck_levels"
CS_CROSSFADE_LEVELS = "/crossfade_levels"
CS_DECK_EQ = "/deck_eq"
CS_DECK_EQ_ALL = "/deck_eq_all"
CS_SET_TEMPO = "/set_tempo"
CS_GET_STATUS = "/get_status"
CS_RESET = "/reset"
CS_TOTAL_MOVEMENT = "/dance/total_movement"

CROWDSTREAM_ADDRESSES: frozenset[str] = frozenset(
    {
        CS_CUE,
        CS_PLAY,
        CS_START_GROUP,
        CS_FADE,
        CS_DECK_LEVELS,
        CS_CROSSFADE_LEVELS,
        CS_DECK_EQ,
        CS_DECK_EQ_ALL,
        CS_SET_TEMPO,
        CS_GET_STATUS,
        CS_RESET,
        CS_TOTAL_MOVEMENT,
    }
)
# A movement detector cannot sign; these may come unsigned from --trust-movement-from hosts.
MOVEMENT_ADDRESSES: frozenset[str] = frozenset({MOVEMENT, CS_TOTAL_MOVEMENT})

OscArg = str | int | float | bool


def signing_payload(address: str, ts: str, args: Sequence[Any]) -> bytes:
    return (address + "\n" + ts + "\n" + "\n".join(str(a) for a in args)).encode("utf-8")


def sign(token: str, address: str, ts: str, args: Sequence[Any]) -> str:
    """Lowercase hex HMAC-SHA256 of the signing payload, keyed with ``token``."""
    return hmac.new(
        token.encode("utf-8"), signing_payload(address, ts, args), hashlib.sha256
    ).hexdigest()


def encode_message(address: str, args: Sequence[OscArg]) -> bytes:
    """Build an OSC datagram; floats go out as doubles so ``str(arg)`` survives the trip."""
    builder = OscMessageBuilder(address=address)
    for arg in args:
        if isinstance(arg, bool):
            builder.add_arg(arg)
        elif isinstance(arg, float):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_DOUBLE)
        elif isinstance(arg, int) and not -(2**31) <= arg < 2**31:
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_INT64)
        else:
            builder.add_arg(arg)
    return builder.build().dgram


def encode_signed(
    token: str, address: str, args: Sequence[OscArg], now: float | None = None
) -> bytes:
    ts = repr(time.time() if now is None else now)
    return encode_message(address, [ts, sign(token, address, ts, args), *args])


def decode_message(data: bytes) -> tuple[str, list[Any]]:
    """Parse one OSC message; raises ``ValueError`` for bundles and malformed datagrams."""
    if not OscMessage.dgram_is_message(data):
        raise ValueError("not an OSC message (bundles are not accepted)")
    try:
        msg = OscMessage(data)
    except Exception as exc:  # python-osc raises its own ParseError and struct errors
        raise ValueError(f"malformed OSC message: {exc}") from exc
    return msg.address, list(msg.params)


@dataclass
class Verdict:
    ok: bool
    reason: str  # "ok", "unsigned", "stale", "replayed", "bad_signature"
    args: list[Any]


class MessageVerifier:
    """Checks signature, age and replay of incoming control messages.

    A signature is remembered until its timestamp leaves the acceptance window, so a
    captured datagram cannot be replayed while it is fresh and is stale afterwards.
    """

    REASONS = ("unsigned", "stale", "replayed", "bad_signature", "malformed")

    @staticmethod
    def looks_signed(params: Sequence[Any]) -> bool:
        return len(params) >= 2 and isinstance(params[0], str) and isinstance(params[1], str)

    def __init__(self, token: str, max_age_s: float = MAX_AGE_S, max_remembered: int = 100_000):
        self._key = token
        self._max_age = max_age_s
        self._max_remembered = max_remembered
        self._seen: OrderedDict[str, float] = OrderedDict()

    def check(self, address: str, params: Sequence[Any], now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        if len(params) < 2 or not isinstance(params[0], str) or not isinstance(params[1], str):
            return Verdict(False, "unsigned", [])
        ts_text, sig = params[0], params[1]
        args = list(params[2:])
        try:
            ts = float(ts_text)
        except ValueError:
            return Verdict(False, "unsigned", [])
        if not math.isfinite(ts) or abs(now - ts) > self._max_age:
            return Verdict(False, "stale", [])
        expected = sign(self._key, address, ts_text, args)
        # Bytes, not str: compare_digest refuses str with non-ASCII characters.
        if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
            return Verdict(False, "bad_signature", [])
        self._forget_older_than(now - self._max_age)
        if sig in self._seen:
            return Verdict(False, "replayed", [])
        self._seen[sig] = ts
        while len(self._seen) > self._max_remembered:
            self._seen.popitem(last=False)
        return Verdict(True, "ok", args)

    def _forget_older_than(self, cutoff: float) -> None:
        # Insertion order is close to timestamp order; stop at the first fresh entry.
        while self._seen:
            sig, ts = next(iter(self._seen.items()))
            if ts >= cutoff:
                break
            del self._seen[sig]
