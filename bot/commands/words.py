"""Small helpers for reading a command's bare words (shared by parse and the commands
that read their words their own way)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.errors import BadInput

if TYPE_CHECKING:
    from bot.commands.define import CommandDef

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def looks_like_source(word: str) -> bool:
    """A link or a path: something with a scheme, a slash, a dot or a home tilde."""
    return "://" in word or any(ch in word for ch in "/\\.~")


def usage(command: CommandDef) -> str:
    return f"usage: {command.usage}"


def take(args: dict[str, Any], key: str, value: Any, command: CommandDef) -> None:
    """Set ``key`` from a bare word, refusing a second value for it."""
    if key in args:
        raise BadInput(f"{key} given twice ({args[key]!r} and {value!r}); {usage(command)}")
    args[key] = value


def cannot_tell(word: str, command: CommandDef) -> BadInput:
    return BadInput(f"cannot tell what {word!r} is; {usage(command)}")


def in_order(args: dict[str, Any], words: list[str], command: CommandDef) -> dict[str, Any]:
    """The default reading: bare words fill the positional options in declared order."""
    order = [opt for opt in command.options if opt.meta.positional]
    if order and order[-1].meta.rest and len(words) >= len(order):
        words = [*words[: len(order) - 1], " ".join(words[len(order) - 1 :])]
    if len(words) > len(order):
        extra = " ".join(words[len(order) :])
        raise BadInput(f"unexpected {extra!r}; {usage(command)}")
    for opt, word in zip(order, words, strict=False):
        take(args, opt.name, word, command)
    return args
