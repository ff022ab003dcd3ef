"""The slash commands: Discord options in, a command-layer :class:`Command` out.

Descriptions and choices come from the layer's :class:`CommandSpec` list, so help
text and Discord's command picker say the same. Values are validated by the
layer, exactly as typed text would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import discord
from discord import app_commands

from bot.commands.api import Command, CommandSpec
from bot.discord.skin import DiscordSkin

DESCRIPTION_LIMIT = 100


def _short(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class _Decorate:
    """Applies a spec's option descriptions and choices to a callback."""

    def __init__(self, specs: tuple[CommandSpec, ...]) -> None:
        self.by_name = {spec.name: spec for spec in specs}

    def description(self, name: str) -> str:
        return _short(self.by_name[name].description)

    def __call__(self, name: str, **renamed: str) -> Callable[[Any], Any]:
        spec = self.by_name[name]

        def apply(func: Any) -> Any:
            params = set(func.__code__.co_varnames[: func.__code__.co_argcount])
            descriptions: dict[str, str] = {}
            choices: dict[str, list[app_commands.Choice[str]]] = {}
            for option in spec.options:
                param = renamed.get(option.name, option.name)
                if param not in params:
                    continue
                descriptions[param] = _short(option.description)
                if option.choices:
                    choices[param] = [app_commands.Choice(name=c, value=c) for c in option.choices]
            func = app_commands.describe(**descriptions)(func)
            if choices:
                func = app_commands.choices(**choices)(func)
            return func

        return apply


def register(
    tree: app_commands.CommandTree, skin: DiscordSkin, specs: tuple[CommandSpec, ...]
) -> None:
    spec = _Decorate(specs)

    @tree.command(name="id", description=spec.description("id"))
    @spec("id")
    async def identify(
        interaction: discord.Interaction,
        source: str | None = None,
        file: discord.Attachment | None = None,
        recognizers: str | None = None,
    ) -> None:
        await skin.run(
            interaction, Command("id", _given(source=source, recognizers=recognizers)), [file]
        )

    @tree.command(name="stems", description=spec.description("stems"))
    @spec("stems")
    async def stems(
        interaction: discord.Interaction,
        source: str | None = None,
        file: discord.Attachment | None = None,
        model: str | None = None,
        minus: str | None = None,
        format: str | None = None,
    ) -> None:
        await skin.run(
            interaction,
            Command("stems", _given(source=source, model=model, minus=minus, format=format)),
            [file],
        )

    @tree.command(name="sections", description=spec.description("sections"))
    @spec("sections")
    async def sections(
        interaction: discord.Interaction,
        bpm: float,
        sources: str | None = None,
        file: discord.Attachment | None = None,
        delta: float | None = None,
        key: str | None = None,
        harmonic: bool | None = None,
        target: float | None = None,
        bars: int | None = None,
        mix_bars: int | None = None,
    ) -> None:
        args = _given(
            bpm=bpm,
            sources=sources.split() if sources else None,
            delta=delta,
            key=key,
            harmonic=harmonic,
            target=target,
            bars=bars,
            mix_bars=mix_bars,
        )
        await skin.run(interaction, Command("sections", args), [file])

    # "/bpm 124" and "/bpm auto on" share a name on Discord, so /bpm takes either.
    @tree.command(
        name="bpm", description=_short(f"{spec.by_name['bpm'].description}; or auto: on/off")
    )
    @spec("bpm")
    @app_commands.describe(auto="let the Pi follow the crowd (on) or hold the tempo (off)")
    async def bpm(
        interaction: discord.Interaction,
        value: float | None = None,
        ramp: float | None = None,
        auto: Literal["on", "off"] | None = None,
    ) -> None:
        if auto is not None and value is None and ramp is None:
            command = Command("bpm_auto", {"on": auto})
        else:
            # Both or neither: the layer's /bpm answers with its usage line.
            command = Command("bpm", _given(value=value, ramp=ramp))
        await skin.run(interaction, command)

    pi = app_commands.Group(name="pi", description="the venue Pi linked to this server")

    @pi.command(name="link", description=spec.description("pi_link"))
    @spec("pi_link")
    async def pi_link(interaction: discord.Interaction, host: str, port: int, token: str) -> None:
        # Ephemeral: nobody else needs to see which Pi was linked with which secret.
        await skin.run(
            interaction,
            Command("pi_link", {"host": host, "port": port, "token": token}),
            ephemeral=True,
        )

    @pi.command(name="unlink", description=spec.description("pi_unlink"))
    async def pi_unlink(interaction: discord.Interaction) -> None:
        await skin.run(interaction, Command("pi_unlink"))

    @pi.command(name="status", description=spec.description("pi_status"))
    async def pi_status(interaction: discord.Interaction) -> None:
        await skin.run(interaction, Command("pi_status"))

    tree.add_command(pi)

    @tree.command(name="jobs", description=spec.description("jobs"))
    async def jobs(interaction: discord.Interaction) -> None:
        await skin.run(interaction, Command("jobs"))

    @tree.command(name="token", description=spec.description("token"))
    async def token(interaction: discord.Interaction) -> None:
        # Ephemeral as well: only the user ever sees the token.
        await skin.run(interaction, Command("token"), ephemeral=True)

    @tree.command(name="cancel", description=spec.description("cancel"))
    @spec("cancel")
    async def cancel(interaction: discord.Interaction, job_id: str) -> None:
        await skin.run(interaction, Command("cancel", {"job_id": job_id}))

    @tree.command(name="help", description=spec.description("help"))
    @spec("help")
    async def help_(interaction: discord.Interaction, topic: str | None = None) -> None:
        await skin.run(interaction, Command("help", _given(topic=topic)), ephemeral=True)

    @tree.error
    async def on_error(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await skin.report_error(interaction, error)
