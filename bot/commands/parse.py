"""Typed text to :class:`Command`: the same words on every front-end.

Words are split like a shell (quotes keep a path with spaces together). Options are
``key=value`` or bare words where their meaning is unambiguous (``/stems x.mp3 wav
vocals`` reads ``wav`` as the format and ``vocals`` as the stem to remove).
Values are checked later, in :mod:`bot.commands.validate`, so text and structured
commands share one set of rules.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from bot.commands.api import Command
from bot.commands.specs import BY_NAME, STEM_FORMATS, STEM_NAMES
from core.errors import BadInput

_ALIASES = {
    "identify": "id",
    "tracklist": "id",
    "stem": "stems",
    "section": "sections",
    "start": "help",
    "cancel_job": "cancel",
    "job": "jobs",
}
_OPTION_ALIASES = {
    "url": "source",
    "src": "source",
    "link": "source",
    "target_bpm": "target",
    "keys": "key",
    "mix": "mix_bars",
    "fmt": "format",
    "ramp_s": "ramp",
    "id": "job_id",
}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def looks_like_source(word: str) -> bool:
    """A link or a path: something with a scheme, a slash, a dot or a home tilde."""
    return "://" in word or any(ch in word for ch in "/\\.~")


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unbalanced quote
        raise BadInput(f"cannot read that command: {exc}") from None


def _usage(name: str) -> str:
    return f"usage: {BY_NAME[name].usage}"


def _options(name: str, words: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Split ``key=value`` words (checked against the command's options) from the rest."""
    allowed = {o.name for o in BY_NAME[name].options if o.type != "attachment"}
    args: dict[str, Any] = {}
    rest: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        # "http://x/?a=b" is a source, not an option: options never contain ":" or "/".
        if sep and re.fullmatch(r"[A-Za-z_][\w-]*", key):
            key = key.lower().replace("-", "_")
            key = _OPTION_ALIASES.get(key, key)
            if key not in allowed:
                raise BadInput(
                    f"unknown option {key!r} for {BY_NAME[name].text}; "
                    f"options: {', '.join(sorted(allowed))}"
                )
            if key in args:
                raise BadInput(f"option {key!r} given twice")
            args[key] = value
        else:
            rest.append(word)
    return args, rest


def _take(args: dict[str, Any], key: str, value: Any, name: str) -> None:
    if key in args:
        raise BadInput(f"{key} given twice ({args[key]!r} and {value!r}); {_usage(name)}")
    args[key] = value


def parse(text: str) -> Command:
    words = _split(text.strip())
    if not words:
        raise BadInput("empty command; try /help")
    head = words[0].lstrip("/").split("@", 1)[0].lower()
    head = _ALIASES.get(head, head)
    rest = words[1:]
    if head == "bpm" and rest and rest[0].lower() == "auto":
        head, rest = "bpm_auto", rest[1:]
    elif head == "pi":
        sub = rest[0].lower() if rest else ""
        if sub not in ("link", "unlink", "status"):
            raise BadInput("usage: /pi link HOST PORT TOKEN | /pi unlink | /pi status")
        head, rest = f"pi_{sub}", rest[1:]
    if head not in BY_NAME:
        raise BadInput(f"unknown command /{head}; try /help")
    args, positional = _options(head, rest)
    return Command(head, _positional(head, args, positional))


def _positional(name: str, args: dict[str, Any], words: list[str]) -> dict[str, Any]:
    if name == "stems":
        for word in words:
            low = word.lower()
            if low in STEM_FORMATS:
                _take(args, "format", low, name)
            elif low in STEM_NAMES:
                _take(args, "minus", low, name)
            elif looks_like_source(word) and "source" not in args:
                args["source"] = word
            elif "model" not in args and not looks_like_source(word):
                args["model"] = word
            else:
                raise BadInput(f"cannot tell what {word!r} is; {_usage(name)}")
        return args
    if name == "sections":
        sources = []
        for word in words:
            if word.lower() == "harmonic":
                args["harmonic"] = True
            elif _NUMBER.match(word) and "bpm" not in args:
                args["bpm"] = word
            elif looks_like_source(word):
                sources.append(word)
            else:
                raise BadInput(f"cannot tell what {word!r} is; {_usage(name)}")
        if sources:
            if "sources" in args:
                raise BadInput(f"sources given twice; {_usage(name)}")
            args["sources"] = sources
        return args
    order = {
        "id": ("source", "recognizers"),
        "bpm": ("value", "ramp"),
        "bpm_auto": ("on",),
        "pi_link": ("host", "port", "token"),
        "cancel": ("job_id",),
        "help": ("topic",),
    }.get(name, ())
    if name == "help" and words:
        words = [" ".join(words)]
    if len(words) > len(order):
        extra = " ".join(words[len(order) :])
        raise BadInput(f"unexpected {extra!r}; {_usage(name)}")
    for key, word in zip(order, words, strict=False):
        _take(args, key, word, name)
    return args
