"""/bpm auto: let the Pi follow the crowd's movement, or hold the set tempo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.api import CommandContext, Reply
from bot.commands.define import CommandDef, option

if TYPE_CHECKING:
    from bot.commands.layer import CommandLayer


@dataclass(frozen=True)
class BpmAutoArgs:
    on: bool = option("on or off", required=True, label="auto", positional=True, default=False)


async def run(layer: CommandLayer, ctx: CommandContext, args: BpmAutoArgs) -> Reply:
    return await layer.pi.bpm_auto(ctx, args.on)


COMMAND = CommandDef(
    "bpm_auto",
    "/bpm auto",
    "/bpm auto on|off",
    "let the Pi follow the crowd's movement (on) or hold the set tempo (off)",
    order=50,
    args=BpmAutoArgs,
    admin_only=True,
    run=run,
)
