"""/bpm: set the venue Pi's tempo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.api import CommandContext, Reply
from bot.commands.define import CommandDef, option
from bot.commands.validate import MAX_BPM, MAX_RAMP_S, MIN_BPM

if TYPE_CHECKING:
    from bot.commands.layer import CommandLayer


@dataclass(frozen=True)
class BpmArgs:
    value: float = option(
        "target BPM",
        required=True,
        min_value=MIN_BPM,
        max_value=MAX_BPM,
        label="BPM",
        positional=True,
        default=0.0,
    )
    ramp: float = option(
        "seconds to ramp over (default 0)",
        min_value=0,
        max_value=MAX_RAMP_S,
        unit="s",
        aliases=("ramp_s",),
        positional=True,
        default=0.0,
    )


async def run(layer: CommandLayer, ctx: CommandContext, args: BpmArgs) -> Reply:
    return await layer.pi.bpm(ctx, args.value, args.ramp)


COMMAND = CommandDef(
    "bpm",
    "/bpm",
    "/bpm VALUE [RAMP_SECONDS]",
    "set the venue Pi's tempo, optionally ramping over some seconds",
    order=40,
    args=BpmArgs,
    admin_only=True,
    run=run,
)
