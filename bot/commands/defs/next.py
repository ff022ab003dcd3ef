"""/next TRACK: the crate tracks that mix best after it, with the tempo change to apply."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.crates import next_tracks
from bot.commands.define import CommandDef, option


@dataclass(frozen=True)
class NextArgs:
    track: str = option(
        "a crate track: its number in /crate list or part of its name",
        required=True,
        positional=True,
        rest=True,
        default="",
    )
    window: float | None = option(
        "largest tempo change, in per cent (default 8)", min_value=0.5, max_value=50, unit="%"
    )


COMMAND = CommandDef(
    "next",
    "/next",
    "/next TRACK [window=8]",
    "the best next tracks from this chat's crate: compatible keys, near tempo",
    order=36,
    args=NextArgs,
    run=next_tracks,
)
