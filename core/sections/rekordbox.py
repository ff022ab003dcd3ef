"""Rekordbox collection XML: BPM, key, beat grid and cues that override the analysis.

The XML is read with pyrekordbox and never written. Tracks are matched to local
files by their decoded ``Location`` (``file://localhost/C:/...`` on Windows,
``file://localhost/Users/...`` on macOS): first the whole path, then the file name,
preferring the candidate sharing the longest tail of folders.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.sections.djlibrary import DjCollection, DjEntry, Override, apply_override
from core.sections.grid import CueMark, GridMarker

_URL_PREFIX = re.compile(r"^file://(localhost)?/*", re.IGNORECASE)


# Kept under their old names: the rest of CrateBot imported them from here first.
RekordboxEntry = DjEntry
__all__ = [
    "CueMark",
    "GridMarker",
    "Override",
    "RekordboxCollection",
    "RekordboxEntry",
    "apply_override",
    "normalise_location",
]


def normalise_location(decoded: str) -> str:
    """pyrekordbox's decoded ``Location`` as a forward-slash path.

    ``C:/Music/a b.mp3`` stays; macOS/Linux paths get back the leading slash that
    pyrekordbox strips along with ``file://localhost/``.
    """
    path = _URL_PREFIX.sub("", decoded.strip()).replace("\\", "/")
    if not re.match(r"^[A-Za-z]:/", path):
        path = "/" + path.lstrip("/")
    return path


class RekordboxCollection(DjCollection):
    software = "rekordbox"

    @classmethod
    def load(cls, path: str | Path) -> RekordboxCollection:
        from pyrekordbox.rbxml import RekordboxXml

        path = Path(path).expanduser()
        if not path.is_file():
            raise BadInput(f"{path}: no such Rekordbox XML file")
        try:
            xml = RekordboxXml(str(path))
        except (ET.ParseError, KeyError, ValueError, AttributeError, TypeError, OSError) as exc:
            raise BadInput(f"{path.name}: not a Rekordbox collection XML ({exc})") from exc
        entries = []
        try:
            for track in xml.get_tracks():
                location = track.get("Location") or ""
                if not location:
                    continue
                entries.append(
                    DjEntry(
                        location=normalise_location(location),
                        average_bpm=_positive(track.get("AverageBpm")),
                        tonality=(track.get("Tonality") or "").strip() or None,
                        grid=tuple(_grid(t) for t in track.tempos if _positive(t.get("Bpm"))),
                        cues=tuple(
                            _cue(m)
                            for m in track.marks
                            if (m.get("Type") or "cue") in {"cue", "loop"}
                        ),
                    )
                )
        except (ValueError, TypeError) as exc:
            raise BadInput(f"{path.name}: malformed Rekordbox track attribute ({exc})") from exc
        return cls(entries)


def _positive(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _grid(tempo: Any) -> GridMarker:
    metro = str(tempo.get("Metro") or "4/4")
    try:
        per_bar = int(metro.split("/")[0])
    except ValueError:
        per_bar = 4
    return GridMarker(
        float(tempo.get("Inizio") or 0.0),
        float(tempo.get("Bpm")),
        max(1, per_bar),
        max(1, int(tempo.get("Battito") or 1)),
    )


def _cue(mark: Any) -> CueMark:
    num = mark.get("Num")
    return CueMark(
        str(mark.get("Name") or ""),
        float(mark.get("Start") or 0.0),
        -1 if num is None else int(num),
    )
