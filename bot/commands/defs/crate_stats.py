"""/crate stats: size, hours, BPM range and keys of this chat's crate."""

from __future__ import annotations

from bot.commands.crates import crate_stats
from bot.commands.define import CommandDef

COMMAND = CommandDef(
    "crate_stats",
    "/crate stats",
    "/crate stats",
    "how big this chat's crate is, its BPM range and keys, and its limits",
    order=35,
    run=crate_stats,
)
