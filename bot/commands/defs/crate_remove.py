"""/crate remove N: take a track out of this chat's crate."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.crates import remove_from_crate
from bot.commands.define import CommandDef, option


@dataclass(frozen=True)
class CrateRemoveArgs:
    track: str = option(
        "its number in /crate list (or part of its name)",
        required=True,
        positional=True,
        rest=True,
        default="",
    )


COMMAND = CommandDef(
    "crate_remove",
    "/crate remove",
    "/crate remove N",
    "remove a track from this chat's crate",
    order=34,
    args=CrateRemoveArgs,
    run=remove_from_crate,
)
