"""/stems: Demucs stems of a track, and a backing track without one of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.commands import validate as v
from bot.commands.define import CommandDef, option
from bot.commands.render import render_stems
from bot.commands.words import cannot_tell, looks_like_source, take

# core.stems.formats.FORMATS in the order users are offered them (a test keeps both equal).
STEM_FORMATS = ("mp3", "wav", "flac")
STEM_NAMES = ("vocals", "drums", "bass", "other", "guitar", "piano")


@dataclass(frozen=True)
class StemsArgs:
    source: str | None = option(
        "a link to the audio (or attach a file)", source=True, aliases=("url", "src", "link")
    )
    model: str | None = option("Demucs model (default htdemucs)", check=v.model)
    minus: str | None = option("make a mix without this stem", choices=STEM_NAMES)
    format: str | None = option("audio format of the stems", choices=STEM_FORMATS, aliases=("fmt",))


def read_words(args: dict[str, Any], words: list[str], command: CommandDef) -> dict[str, Any]:
    """``/stems x.mp3 htdemucs_ft vocals wav``: a format or stem name is recognised by
    its value, a link or path is the source, any other word the model."""
    for word in words:
        low = word.lower()
        if low in STEM_FORMATS:
            take(args, "format", low, command)
        elif low in STEM_NAMES:
            take(args, "minus", low, command)
        elif looks_like_source(word) and "source" not in args:
            args["source"] = word
        elif "model" not in args and not looks_like_source(word):
            args["model"] = word
        else:
            raise cannot_tell(word, command)
    return args


COMMAND = CommandDef(
    "stems",
    "/stems",
    "/stems SOURCE [model] [minus] [format]",
    "split a track into stems (vocals, drums, bass, other); 'minus' also makes a "
    "backing track without that stem",
    order=20,
    args=StemsArgs,
    aliases=("stem",),
    attachments=True,
    words=read_words,
    job_kind="stems",
    render=render_stems,
)
