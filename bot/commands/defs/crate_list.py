"""/crate list: this chat's crate, numbered, with BPM and key."""

from __future__ import annotations

from bot.commands.crates import list_crate
from bot.commands.define import CommandDef

COMMAND = CommandDef(
    "crate_list",
    "/crate list",
    "/crate list",
    "the tracks in this chat's crate",
    order=33,
    aliases=("crate",),
    run=list_crate,
)
