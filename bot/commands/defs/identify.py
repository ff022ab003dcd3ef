"""/id: which tracks a DJ mix plays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.commands import validate as v
from bot.commands.define import CommandDef, option
from bot.commands.render import render_identify
from core.identify.names import RECOGNIZERS


def recognizer_list(value: Any) -> str:
    names = [n.strip().lower() for n in str(value).split(",") if n.strip()]
    for name in names:
        v.choice(name, "recognizer", RECOGNIZERS)
    return ",".join(names)


@dataclass(frozen=True)
class IdentifyArgs:
    source: str | None = option(
        "a link to the audio (or attach a file)",
        source=True,
        positional=True,
        aliases=("url", "src", "link"),
    )
    recognizers: str | None = option(
        "comma-separated: local,shazam,audd", check=recognizer_list, positional=True
    )


COMMAND = CommandDef(
    "id",
    "/id",
    "/id SOURCE [recognizers]",
    "identify the tracks of a DJ mix: tracklist, CUE sheet and timeline",
    order=10,
    args=IdentifyArgs,
    aliases=("identify", "tracklist"),
    attachments=True,
    job_kind="identify",
    render=render_identify,
)
