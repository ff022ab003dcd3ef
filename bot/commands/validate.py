"""Checks and conversions of command arguments, shared by typed and structured commands.

Every failure is a :class:`BadInput` naming the argument, the value and what is
accepted, so a chat user can fix the command without reading docs.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any

from core.errors import BadInput
from realtime.protocol import MAX_BPM, MAX_RAMP_S, MIN_BPM

__all__ = ["MAX_BPM", "MAX_RAMP_S", "MIN_BPM"]  # the Pi's limits: a refusal here saves a trip
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TRUE = {"on", "1", "true", "yes", "enable", "enabled"}
_FALSE = {"off", "0", "false", "no", "disable", "disabled"}


def number(value: Any, name: str, low: float, high: float, unit: str = "") -> float:
    text = str(value).strip().lower()
    if unit and text.endswith(unit):
        text = text[: -len(unit)]
    try:
        result = float(text)
    except ValueError:
        raise BadInput(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(result) or not low <= result <= high:
        raise BadInput(f"{name} {result:g} is out of range: use {low:g} to {high:g}")
    return result


def integer(value: Any, name: str, low: int, high: int) -> int:
    result = number(value, name, low, high)
    if result != int(result):
        raise BadInput(f"{name} must be a whole number, not {value!r}")
    return int(result)


def flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadInput(f"{name} must be on or off, not {value!r}")


def host(value: Any) -> str:
    text = str(value).strip()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if not _HOSTNAME.match(text):
        raise BadInput(f"{text!r} is not a host name or IP address")
    return text.rstrip(".").lower()


def token(value: Any) -> str:
    text = str(value)
    if not text.strip() or len(text) > 512 or any(ch.isspace() for ch in text):
        raise BadInput("the token must be 1 to 512 characters without spaces")
    return text


def model(value: Any) -> str:
    text = str(value).strip()
    if not _MODEL.match(text):
        raise BadInput(f"{text!r} is not a model name (letters, digits, _ . -)")
    return text


def choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise BadInput(f"{name} {value!r}: choose one of {', '.join(choices)}")
    return text


def missing(key: str, usage: str) -> BadInput:
    return BadInput(f"{key} is missing; usage: {usage}")
