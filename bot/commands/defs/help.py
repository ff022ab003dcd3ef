"""/help: what each command does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.api import CommandContext, Reply
from bot.commands.define import CommandDef, option

if TYPE_CHECKING:
    from bot.commands.layer import CommandLayer


@dataclass(frozen=True)
class HelpArgs:
    topic: str | None = option("a command name", positional=True, rest=True)


async def run(layer: CommandLayer, ctx: CommandContext, args: HelpArgs) -> Reply:
    return Reply(text=layer.help_text(args.topic), title="CrateBot help")


COMMAND = CommandDef(
    "help",
    "/help",
    "/help [COMMAND]",
    "what each command does",
    order=110,
    args=HelpArgs,
    aliases=("start",),
    run=run,
    private=True,
)
