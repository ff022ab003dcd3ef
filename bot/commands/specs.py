"""The commands as front-ends register them, and help: both derived from
:mod:`bot.commands.defs`."""

from __future__ import annotations

from bot.commands.api import CommandSpec
from bot.commands.define import CommandDef
from bot.commands.defs import COMMANDS, WORDS

SPECS: tuple[CommandSpec, ...] = tuple(c.spec for c in COMMANDS)
BY_NAME: dict[str, CommandSpec] = {spec.name: spec for spec in SPECS}


def find_topic(topic: str) -> CommandDef | None:
    """The command a help topic names: "stems", "/pi link", "pi_link", "identify", "auto"."""
    words = topic.strip().lstrip("/").lower().split()
    key = "_".join(words)
    if key in WORDS.single:
        return WORDS.single[key]
    if len(words) == 2 and (words[0], words[1]) in WORDS.double:
        return WORDS.double[(words[0], words[1])]
    if key in WORDS.groups:
        return WORDS.groups[key][0]
    return next((c for c in COMMANDS if c.words_of_text[-1] == key), None)


def help_text(topic: str | None = None) -> str:
    if topic:
        command = find_topic(topic)
        if command is None:
            return f"no command {topic!r}; " + ", ".join(s.text for s in SPECS)
        spec = command.spec
        lines = [spec.usage, spec.description]
        lines += [f"  {o.name}: {o.description}" for o in spec.options if o.type != "attachment"]
        if spec.admin_only:
            lines.append("(admins of this server/chat only)")
        return "\n".join(lines)
    lines = ["CrateBot commands:"]
    lines += [
        f"{spec.usage}\n    {spec.description}" + (" (admins)" if spec.admin_only else "")
        for spec in SPECS
    ]
    lines.append("Attach an audio file instead of SOURCE to use an upload.")
    return "\n".join(lines)
