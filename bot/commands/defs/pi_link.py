"""/pi link: link this server/chat to a venue Pi."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands import validate as v
from bot.commands.api import CommandContext, Reply
from bot.commands.define import CommandDef, option

if TYPE_CHECKING:
    from bot.commands.layer import CommandLayer


@dataclass(frozen=True)
class PiLinkArgs:
    host: str = option("the Pi's address", required=True, check=v.host, positional=True, default="")
    port: int = option(
        "its UDP port", required=True, min_value=1, max_value=65535, positional=True, default=0
    )
    token: str = option(
        "its shared secret", required=True, check=v.token, positional=True, default=""
    )


async def run(layer: CommandLayer, ctx: CommandContext, args: PiLinkArgs) -> Reply:
    return await layer.pi.link(ctx, args.host, args.port, args.token)


COMMAND = CommandDef(
    "pi_link",
    "/pi link",
    "/pi link HOST PORT TOKEN",
    "link this server/chat to a venue Pi (the token is stored encrypted)",
    order=60,
    args=PiLinkArgs,
    admin_only=True,
    run=run,
    # Nobody else needs to see which Pi was linked with which secret.
    private=True,
)
