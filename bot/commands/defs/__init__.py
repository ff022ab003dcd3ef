"""Every command, one module each: a module here holds one ``COMMAND`` definition.

Adding a command is adding a module (its arguments dataclass and ``COMMAND``) plus
its logic; parsing, help, Discord, Telegram's menu and rendering pick it up from
here. ``tests/commands/test_definitions.py`` checks that every command shows up in
all of them.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.commands.define import CommandDef
from bot.commands.parse import CommandWords


def _discover() -> tuple[CommandDef, ...]:
    found: list[CommandDef] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        command = getattr(module, "COMMAND", None)
        if not isinstance(command, CommandDef):
            raise TypeError(f"{module.__name__} defines no COMMAND")
        found.append(command)
    found.sort(key=lambda c: c.order)
    for attr in ("name", "text", "order"):
        values = [getattr(c, attr) for c in found]
        if len(set(values)) != len(values):
            raise TypeError(f"two commands share a {attr}: {values}")
    return tuple(found)


COMMANDS: tuple[CommandDef, ...] = _discover()
BY_NAME: dict[str, CommandDef] = {c.name: c for c in COMMANDS}
WORDS = CommandWords(COMMANDS)
