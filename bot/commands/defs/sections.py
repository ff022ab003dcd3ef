"""/sections: tempo-aligned sections of tracks near a BPM (and key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.commands.define import CommandDef, option
from bot.commands.dj_upload import COLLECTION_OPTION, collection_upload
from bot.commands.render import render_sections
from bot.commands.validate import MAX_BPM, MIN_BPM
from bot.commands.words import NUMBER, cannot_tell, looks_like_source
from core.errors import BadInput


@dataclass(frozen=True)
class SectionsArgs:
    bpm: float = option(
        "the tempo to select around",
        required=True,
        min_value=MIN_BPM,
        max_value=MAX_BPM,
        label="BPM",
        default=0.0,
    )
    sources: list[str] | None = option("links, separated by spaces (or attach files)", source=True)
    delta: float | None = option(
        "accept tracks within +- this many BPM (default 2)", min_value=0, max_value=50
    )
    key: str | None = option("keys to accept, e.g. Am,Cm or 8A", aliases=("keys",))
    harmonic: bool | None = option("also accept harmonically compatible keys")
    target: float | None = option(
        "stretch sections to this BPM (default: bpm)",
        min_value=MIN_BPM,
        max_value=MAX_BPM,
        label="BPM",
        aliases=("target_bpm",),
        param="target_bpm",
    )
    bars: int | None = option("section length in bars (default 16)", min_value=1, max_value=256)
    mix_bars: int | None = option(
        "bars of mix-in/out room (default bars/4)", min_value=0, max_value=256, aliases=("mix",)
    )


def read_words(args: dict[str, Any], words: list[str], command: CommandDef) -> dict[str, Any]:
    """``/sections a.mp3 b.mp3 124 harmonic``: links and paths are sources, the first
    number is the BPM, ``harmonic`` switches on harmonic keys."""
    sources = []
    for word in words:
        if word.lower() == "harmonic":
            args["harmonic"] = True
        elif NUMBER.match(word) and "bpm" not in args:
            args["bpm"] = word
        elif looks_like_source(word):
            sources.append(word)
        else:
            raise cannot_tell(word, command)
    if sources:
        if "sources" in args:
            raise BadInput(f"sources given twice; usage: {command.usage}")
        args["sources"] = sources
    return args


COMMAND = CommandDef(
    "sections",
    "/sections",
    "/sections SOURCE... bpm=BPM [delta=2] [key=Am,Cm] [harmonic] [target=BPM] "
    "[bars=16] [mix_bars=N] [attach a Rekordbox xml or Traktor nml]",
    "cut tempo-aligned sections from tracks near a BPM (and key), as a zip with a CSV",
    order=30,
    args=SectionsArgs,
    aliases=("section",),
    attachments=True,
    words=read_words,
    job_kind="sections",
    render=render_sections,
    uploads=collection_upload,
    upload_options=(COLLECTION_OPTION,),
)
