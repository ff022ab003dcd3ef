"""A DJ collection file uploaded with ``/sections``: the job's grid, key and cue source.

Among a command's attachments a Rekordbox ``.xml`` or Traktor ``.nml`` is the
collection (``dj_library`` for the job); the rest are the tracks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.commands.api import OptionSpec
from core.errors import BadInput

COLLECTION_SUFFIXES = frozenset({".xml", ".nml"})
COLLECTION_OPTION = OptionSpec(
    "collection",
    "attachment",
    "your Rekordbox collection .xml or Traktor collection.nml: its grids, keys and cues win",
)


def split_collection(attachments: Iterable[Path | str]) -> tuple[list[Path], Path | None]:
    """(audio attachments, the collection file or None); more than one collection is refused."""
    audio: list[Path] = []
    collections: list[Path] = []
    for attachment in attachments:
        path = Path(attachment)
        (collections if path.suffix.lower() in COLLECTION_SUFFIXES else audio).append(path)
    if len(collections) > 1:
        names = ", ".join(p.name for p in collections)
        raise BadInput(f"attach one DJ collection (.xml or .nml) at a time, not {names}")
    return audio, (collections[0].resolve() if collections else None)


def collection_upload(attachments: Iterable[Path]) -> tuple[list[Path], dict[str, Any]]:
    """A command's ``uploads`` reader: the collection becomes the ``dj_library`` param."""
    audio, collection = split_collection(attachments)
    return audio, ({"dj_library": str(collection)} if collection is not None else {})
