"""/pi unlink: forget this server/chat's Pi."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.api import CommandContext, Reply
from bot.commands.define import CommandDef, NoArgs

if TYPE_CHECKING:
    from bot.commands.layer import CommandLayer


async def run(layer: CommandLayer, ctx: CommandContext, args: NoArgs) -> Reply:
    return await layer.pi.unlink(ctx)


COMMAND = CommandDef(
    "pi_unlink",
    "/pi unlink",
    "/pi unlink",
    "forget this server/chat's Pi",
    order=70,
    admin_only=True,
    run=run,
)
