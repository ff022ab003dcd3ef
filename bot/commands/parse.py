"""Typed text to :class:`Command`: the same words on every front-end.

Words are split like a shell (quotes keep a path with spaces together). Options are
``key=value`` or bare words where their meaning is unambiguous (``/stems x.mp3 wav
vocals`` reads ``wav`` as the format and ``vocals`` as the stem to remove). Which
words and options a command takes comes from its definition in
:mod:`bot.commands.defs`; values are checked later (:func:`bot.commands.define.bind`),
so text and structured commands share one set of rules.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from typing import Any

from bot.commands.api import Command
from bot.commands.define import CommandDef
from bot.commands.words import in_order
from core.errors import BadInput

_OPTION = re.compile(r"[A-Za-z_][\w-]*")


class CommandWords:
    """How the commands are typed: first words, aliases and two-word subcommands."""

    def __init__(self, commands: Iterable[CommandDef]) -> None:
        self.single: dict[str, CommandDef] = {}
        self.double: dict[tuple[str, str], CommandDef] = {}
        self.groups: dict[str, list[CommandDef]] = {}
        for command in commands:
            words = command.words_of_text
            self.single[command.name] = command
            for alias in command.aliases:
                self.single[alias] = command
            if len(words) == 1:
                self.single[words[0]] = command
            else:
                self.double[(words[0], words[1])] = command
                self.groups.setdefault(words[0], []).append(command)

    def find(self, head: str, rest: list[str]) -> tuple[CommandDef, list[str]]:
        if rest and (head, rest[0].lower()) in self.double:
            return self.double[(head, rest[0].lower())], rest[1:]
        if head in self.single:
            return self.single[head], rest
        if head in self.groups:
            raise BadInput("usage: " + " | ".join(c.usage for c in self.groups[head]))
        raise BadInput(f"unknown command /{head}; try /help")


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unbalanced quote
        raise BadInput(f"cannot read that command: {exc}") from None


def _options(command: CommandDef, words: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Split ``key=value`` words (checked against the command's options) from the rest."""
    args: dict[str, Any] = {}
    rest: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        # "http://x/?a=b" is a source, not an option: options never contain ":" or "/".
        if sep and _OPTION.fullmatch(key):
            key = key.lower().replace("-", "_")
            option = command.by_option.get(key)
            if option is None:
                names = ", ".join(sorted(o.name for o in command.options))
                raise BadInput(f"unknown option {key!r} for {command.text}; options: {names}")
            if option.name in args:
                raise BadInput(f"option {option.name!r} given twice")
            args[option.name] = value
        else:
            rest.append(word)
    return args, rest


def parse(text: str, words: CommandWords | None = None) -> Command:
    """The command typed in ``text`` (``words``: the commands to know; default all)."""
    if words is None:
        from bot.commands.defs import WORDS as words
    split = _split(text.strip())
    if not split:
        raise BadInput("empty command; try /help")
    head = split[0].lstrip("/").split("@", 1)[0].lower()
    command, rest = words.find(head, split[1:])
    args, bare = _options(command, rest)
    reader = command.words or in_order
    return Command(command.name, reader(args, bare, command))
