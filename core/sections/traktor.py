"""Traktor ``collection.nml``: BPM, key, grid anchor and cues that override the analysis.

Read with the standard library's ElementTree: the one NML package on PyPI
(traktor-nml-utils) is GPL-3.0, which CrateBot's MIT licence cannot take, and NML
is plain XML whose few fields we need are documented by Native Instruments' own
exports:

* ``LOCATION VOLUME="C:" DIR="/:Users/:dj/:Music/:" FILE="x.mp3"``: folders are
  separated by ``/:``; a drive-letter volume is a Windows path, any other volume a
  macOS disk name (the path is then ``/`` + the folders).
* ``TEMPO BPM``: the track's tempo (Traktor grids are straight).
* ``MUSICAL_KEY VALUE``: 0-11 major keys from C, 12-23 minor keys from C.
* ``CUE_V2`` (``START`` in milliseconds): ``TYPE=4`` is a grid marker, a downbeat
  (with its own ``GRID BPM`` in newer versions); types 0 (cue), 3 (load) and 5
  (loop) are cues, ``HOTCUE`` -1 a memory cue or 0-7 a hot cue slot.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from core.analysis.keys import MAJOR_NAMES, MINOR_NAMES
from core.errors import BadInput
from core.sections.djlibrary import DjCollection, DjEntry
from core.sections.grid import CueMark, GridMarker

GRID_TYPE = 4
CUE_TYPES = frozenset({0, 3, 5})  # cue, load, loop; fade-in/out (1, 2) mark no section


def traktor_key(value: int) -> str | None:
    if 0 <= value < 12:
        return MAJOR_NAMES[value]
    if 12 <= value < 24:
        return MINOR_NAMES[value - 12]
    return None


def location_path(volume: str, directory: str, file: str) -> str:
    folders = [part for part in directory.split("/:") if part]
    if re.fullmatch(r"[A-Za-z]:", volume.strip()):
        return "/".join([volume.strip().upper(), *folders, file])
    return "/" + "/".join([*folders, file])


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


class TraktorCollection(DjCollection):
    software = "traktor"

    @classmethod
    def load(cls, path: str | Path) -> TraktorCollection:
        path = Path(path).expanduser()
        if not path.is_file():
            raise BadInput(f"{path}: no such Traktor collection file")
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError) as exc:
            raise BadInput(f"{path.name}: not a Traktor collection NML ({exc})") from exc
        if root.tag != "NML" or root.find("COLLECTION") is None:
            raise BadInput(f"{path.name}: not a Traktor collection NML (no NML/COLLECTION)")
        entries = [
            entry
            for element in root.iterfind("COLLECTION/ENTRY")
            if (entry := _entry(element)) is not None
        ]
        return cls(entries)


def _entry(element: ET.Element) -> DjEntry | None:
    location = element.find("LOCATION")
    if location is None or not location.get("FILE"):
        return None
    path = location_path(
        location.get("VOLUME") or "", location.get("DIR") or "", location.get("FILE") or ""
    )
    tempo = element.find("TEMPO")
    bpm = _float(tempo.get("BPM")) if tempo is not None else None
    bpm = bpm if bpm and bpm > 0 else None
    key_element = element.find("MUSICAL_KEY")
    key = None
    if key_element is not None:
        value = _float(key_element.get("VALUE"))
        key = traktor_key(int(value)) if value is not None else None
    if key is None:
        info = element.find("INFO")
        key = ((info.get("KEY") or "").strip() or None) if info is not None else None
    grid: list[GridMarker] = []
    cues: list[CueMark] = []
    for cue in element.iterfind("CUE_V2"):
        start_ms = _float(cue.get("START"))
        kind = _float(cue.get("TYPE"))
        if start_ms is None or kind is None:
            continue
        start = start_ms / 1000.0
        if int(kind) == GRID_TYPE:
            own = cue.find("GRID")
            marker_bpm = _float(own.get("BPM")) if own is not None else None
            marker_bpm = marker_bpm if marker_bpm and marker_bpm > 0 else bpm
            if marker_bpm:
                grid.append(GridMarker(start, marker_bpm, 4, 1))
        elif int(kind) in CUE_TYPES:
            hotcue = _float(cue.get("HOTCUE"))
            name = cue.get("NAME") or ""
            slot = -1 if hotcue is None else int(hotcue)
            cues.append(CueMark("" if name == "n.n." else name, start, slot))
    return DjEntry(path, bpm, key, tuple(grid), tuple(cues))
