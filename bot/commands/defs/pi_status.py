"""/pi status: tempo, decks and health of the linked Pi."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.api import CommandContext, Reply
from bot.commands.define import CommandDef, NoArgs

if TYPE_CHECKING:
    from bot.commands.layer import CommandLayer


async def run(layer: CommandLayer, ctx: CommandContext, args: NoArgs) -> Reply:
    return await layer.pi.status(ctx)


COMMAND = CommandDef(
    "pi_status",
    "/pi status",
    "/pi status",
    "tempo, decks and health of the linked Pi",
    order=80,
    admin_only=True,
    run=run,
)
