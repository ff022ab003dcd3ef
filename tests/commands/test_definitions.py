"""Every command is declared once and shows up everywhere it is derived to."""

from __future__ import annotations

import asyncio
import dataclasses
import pkgutil

import discord
import pytest
from discord import app_commands

import bot.commands.defs as defs_package
from bot.commands.api import Command
from bot.commands.define import CommandDef, bind
from bot.commands.defs import BY_NAME, COMMANDS
from bot.commands.defs.stems import STEM_FORMATS
from bot.commands.layer import CommandLayer
from bot.commands.parse import parse
from bot.commands.specs import SPECS, help_text
from bot.discord.slash import register
from bot.telegram.frontend import menu_commands
from core.errors import BadInput
from core.jobs.kinds import builtin_kinds
from core.settings import load_settings
from core.stems.formats import FORMATS

NAMES = [c.name for c in COMMANDS]


class _Skin:
    """Only registration is exercised here: nothing is ever run."""

    async def run(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("not called")

    async def report_error(self, *args: object) -> None:
        raise AssertionError("not called")


def _example(command: CommandDef) -> str:
    """Typed text for ``command`` with every required option given by name."""
    values = {"float": "120", "int": "9000", "bool": "on", "str": "x"}
    given = [f"{o.name}={values[o.type]}" for o in command.options if o.meta.required]
    return " ".join([command.text, *given])


def test_every_module_declares_one_command() -> None:
    modules = [info.name for info in pkgutil.iter_modules(defs_package.__path__)]
    assert len(modules) == len(COMMANDS) == len(set(NAMES))
    assert CommandLayer.commands == COMMANDS
    assert [s.name for s in CommandLayer.specs] == NAMES == [s.name for s in SPECS]


@pytest.mark.parametrize("name", NAMES)
def test_command_is_parsed_helped_and_bound(name: str) -> None:
    command = BY_NAME[name]
    assert parse(_example(command)).name == name
    for alias in command.aliases:
        assert parse(_example(command).replace(command.text, f"/{alias}", 1)).name == name
    assert command.usage in help_text()
    assert help_text(command.text).startswith(command.usage)
    for option in command.options:
        assert dataclasses.fields(command.args)  # declared as dataclass fields
        assert option.name in help_text(command.text)
        if option.meta.required:
            message = f"{option.name} is missing; usage: {command.usage}"
            with pytest.raises(BadInput, match=message.replace("[", r"\[").replace("|", r"\|")):
                parse_and_bind_without(command, option.name)


def parse_and_bind_without(command: CommandDef, missing: str) -> None:
    async def sources(option: object, given: list[str]) -> list[str]:
        return given or ["https://example.com/a.mp3"]

    values = {o.name: "120" for o in command.options if o.meta.required and o.name != missing}
    asyncio.run(bind(command, Command(command.name, values).args, sources))


@pytest.mark.parametrize("name", NAMES)
def test_command_is_on_discord_and_telegram(name: str) -> None:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    register(tree, _Skin(), SPECS)  # type: ignore[arg-type]
    command = BY_NAME[name]
    words = command.words_of_text
    slash = tree.get_command(words[0])
    assert slash is not None, f"/{words[0]} is not a slash command"
    if len(words) == 2:
        if isinstance(slash, app_commands.Group):
            slash = slash.get_command(words[1])
            assert slash is not None, f"/{' '.join(words)} is not a slash subcommand"
        else:  # merged into the first word's command as an option ("/bpm auto:on")
            assert words[1] in {p.name for p in slash.parameters}
            return
    assert isinstance(slash, app_commands.Command)
    declared = {o.name for o in command.spec.options}
    merged = {  # subcommands merged into this command ("/bpm auto" -> auto)
        c.words_of_text[1]
        for c in COMMANDS
        if len(words) == 1 and c.words_of_text[0] == words[0] and len(c.words_of_text) == 2
    }
    assert {p.name for p in slash.parameters} == declared | merged
    menu = {c.command for c in menu_commands(CommandLayer)}  # type: ignore[arg-type]
    assert words[0] in menu


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.job_kind], ids=lambda c: c.name)
def test_job_command_has_a_kind_and_a_renderer(command: CommandDef, home) -> None:
    kinds = builtin_kinds(load_settings(home=home))
    assert command.job_kind in kinds
    assert command.render is not None
    assert command.attachments == any(o.meta.source for o in command.options)


def test_stem_formats_are_the_writers_formats() -> None:
    assert sorted(STEM_FORMATS) == sorted(FORMATS)


def test_a_definition_needs_exactly_one_way_to_run() -> None:
    with pytest.raises(TypeError, match="exactly one"):
        CommandDef("x", "/x", "/x", "nothing", order=999)
    with pytest.raises(TypeError, match="render"):
        CommandDef("x", "/x", "/x", "nothing", order=999, job_kind="stems")
