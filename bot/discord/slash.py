"""The slash commands, built from the layer's :class:`CommandSpec` list.

Each spec becomes one slash command whose options are the spec's options (names,
types, descriptions, choices, required); values are validated by the layer, exactly
as typed text would be. Two-word commands ("/pi link") become a group's
subcommands, except where the first word is itself a command ("/bpm" and "/bpm auto"):
Discord cannot have both a command and a group of one name, so the subcommand's
single option joins the command as an option named after its second word
("/bpm auto:on").
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import discord
from discord import app_commands

from bot.commands.api import Command, CommandSpec, OptionSpec
from bot.discord.skin import DiscordSkin

DESCRIPTION_LIMIT = 100
# Discord shows a group's description in its command picker.
GROUP_DESCRIPTIONS = {"pi": "the venue Pi linked to this server"}

_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "attachment": discord.Attachment,
}
Callback = Callable[..., Awaitable[None]]


def _short(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


def _words(spec: CommandSpec) -> list[str]:
    return spec.text.lstrip("/").lower().split()


def _parameter(name: str, annotation: Any, required: bool) -> inspect.Parameter:
    kind = inspect.Parameter.KEYWORD_ONLY
    if required:
        return inspect.Parameter(name, kind, annotation=annotation)
    return inspect.Parameter(name, kind, annotation=annotation | None, default=None)


def _callback(
    parameters: list[inspect.Parameter],
    options: list[OptionSpec],
    run: Callable[[discord.Interaction, dict[str, Any]], Awaitable[None]],
    descriptions: dict[str, str] | None = None,
) -> Callback:
    """A callback with a real signature, which discord.py reads to build the options."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await run(interaction, values)

    first = inspect.Parameter(
        "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
    )
    callback.__signature__ = inspect.Signature([first, *parameters])  # type: ignore[attr-defined]
    described = {o.name: _short(o.description) for o in options} | (descriptions or {})
    func: Callback = app_commands.describe(**described)(callback) if described else callback
    choices = {
        o.name: [app_commands.Choice(name=c, value=c) for c in o.choices]
        for o in options
        if o.choices
    }
    return app_commands.choices(**choices)(func) if choices else func


def _command(
    skin: DiscordSkin, spec: CommandSpec, merged: list[CommandSpec]
) -> app_commands.Command[Any, ..., None]:
    """The slash command of ``spec``, with ``merged`` subcommands as extra options."""
    options = list(spec.options)
    parameters = [
        _parameter(o.name, _TYPES[o.type], o.required and not merged) for o in spec.options
    ]
    extra: dict[str, tuple[CommandSpec, str]] = {}
    descriptions: dict[str, str] = {}
    for sub in merged:
        word = _words(sub)[-1]
        (option,) = sub.options  # a merged subcommand has exactly one option
        annotation = Literal["on", "off"] if option.type == "bool" else _TYPES[option.type]
        parameters.append(_parameter(word, annotation, False))
        extra[word] = (sub, option.name)
        descriptions[word] = _short(sub.description)
    takes_files = any(o.type == "attachment" for o in spec.options)

    async def run(interaction: discord.Interaction, values: dict[str, Any]) -> None:
        given = {k: v for k, v in values.items() if v is not None}
        files = [given.pop(o.name, None) for o in spec.options if o.type == "attachment"]
        chosen = [word for word in extra if word in given]
        if chosen and not any(k not in extra for k in given):
            sub, name = extra[chosen[0]]
            command = Command(sub.name, {name: given[chosen[0]]})
        else:
            # Both or neither: the layer answers with the command's usage line.
            command = Command(spec.name, {k: v for k, v in given.items() if k not in extra})
        await skin.run(
            interaction,
            command,
            files if takes_files else None,
            ephemeral=spec.private,
        )

    description = spec.description
    if merged:
        description += "; or " + ", ".join(f"{_words(s)[-1]}: on/off" for s in merged)
    return app_commands.Command(
        name=_words(spec)[-1],
        description=_short(description),
        callback=_callback(parameters, options, run, descriptions),
    )


def register(
    tree: app_commands.CommandTree, skin: DiscordSkin, specs: tuple[CommandSpec, ...]
) -> None:
    singles = {_words(s)[0]: s for s in specs if len(_words(s)) == 1}
    merged: dict[str, list[CommandSpec]] = {}
    groups: dict[str, app_commands.Group] = {}
    for spec in specs:
        words = _words(spec)
        if len(words) == 2 and words[0] in singles:
            merged.setdefault(words[0], []).append(spec)
    for spec in specs:
        words = _words(spec)
        if len(words) == 1:
            tree.add_command(_command(skin, spec, merged.get(words[0], [])))
        elif words[0] not in singles:
            if words[0] not in groups:
                description = GROUP_DESCRIPTIONS.get(words[0], f"/{words[0]} commands")
                groups[words[0]] = app_commands.Group(name=words[0], description=description)
                tree.add_command(groups[words[0]])
            groups[words[0]].add_command(_command(skin, spec, []))

    @tree.error
    async def on_error(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await skin.report_error(interaction, error)
