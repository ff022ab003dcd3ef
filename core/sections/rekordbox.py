"""Rekordbox collection XML: BPM, key, beat grid and cues that override the analysis.

The XML is read with pyrekordbox and never written. Tracks are matched to local
files by their decoded ``Location`` (``file://localhost/C:/...`` on Windows,
``file://localhost/Users/...`` on macOS): first the whole path, then the file name,
preferring the candidate sharing the longest tail of folders.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from core.analysis.keys import parse_key
from core.analysis.model import TrackAnalysis
from core.errors import BadInput

_URL_PREFIX = re.compile(r"^file://(localhost)?/*", re.IGNORECASE)
_INTRO_NAME = re.compile(r"intro|mix.?in|\bini\b", re.IGNORECASE)


@dataclass(frozen=True)
class GridMarker:
    start: float  # Inizio, seconds
    bpm: float
    beats_per_bar: int
    beat: int  # Battito: position in the bar of the beat at ``start`` (1-based)


@dataclass(frozen=True)
class CueMark:
    name: str
    start: float
    num: int  # -1 memory cue, 0.. hot cue A..


@dataclass(frozen=True)
class RekordboxEntry:
    location: str  # decoded, forward slashes
    average_bpm: float | None
    tonality: str | None
    grid: tuple[GridMarker, ...]
    cues: tuple[CueMark, ...]

    @property
    def name(self) -> str:
        return PurePosixPath(self.location).name

    def beat_grid(self, duration: float) -> tuple[list[float], list[int]]:
        """Beat times and bar positions (1..n) from the TEMPO markers, up to ``duration``."""
        beats: list[float] = []
        positions: list[int] = []
        markers = sorted(self.grid, key=lambda m: m.start)
        for i, marker in enumerate(markers):
            if marker.bpm <= 0:
                continue
            stop = markers[i + 1].start if i + 1 < len(markers) else duration
            period = 60.0 / marker.bpm
            k = 0
            while True:
                t = marker.start + k * period
                if t >= stop - 1e-6 or t > duration:
                    break
                beats.append(t)
                positions.append((marker.beat - 1 + k) % marker.beats_per_bar + 1)
                k += 1
        return beats, positions

    def intro_cue(self, first_downbeat: float | None) -> CueMark | None:
        """The cue that marks the intro's end.

        A cue named like "intro", "mix in" or "ini" wins; otherwise the earliest cue
        more than half a second after the first downbeat (the memory cue DJ software
        puts on the first beat is not an intro end).
        """
        named = [c for c in self.cues if _INTRO_NAME.search(c.name)]
        if named:
            return min(named, key=lambda c: c.start)
        floor = (first_downbeat or 0.0) + 0.5
        later = [c for c in self.cues if c.start > floor]
        return min(later, key=lambda c: c.start) if later else None


def normalise_location(decoded: str) -> str:
    """pyrekordbox's decoded ``Location`` as a forward-slash path.

    ``C:/Music/a b.mp3`` stays; macOS/Linux paths get back the leading slash that
    pyrekordbox strips along with ``file://localhost/``.
    """
    path = _URL_PREFIX.sub("", decoded.strip()).replace("\\", "/")
    if not re.match(r"^[A-Za-z]:/", path):
        path = "/" + path.lstrip("/")
    return path


class RekordboxCollection:
    def __init__(self, entries: list[RekordboxEntry]) -> None:
        self.entries = entries
        self._by_path = {e.location.lower(): e for e in entries}
        self._by_name: dict[str, list[RekordboxEntry]] = {}
        for entry in entries:
            self._by_name.setdefault(entry.name.lower(), []).append(entry)

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
                    RekordboxEntry(
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

    def match(self, path: str) -> RekordboxEntry | None:
        local = str(path).replace("\\", "/")
        exact = self._by_path.get(local.lower())
        if exact is not None:
            return exact
        candidates = self._by_name.get(PurePosixPath(local).name.lower(), [])
        if not candidates:
            return None
        local_parts = [p.lower() for p in PurePosixPath(local).parts]

        def shared_tail(entry: RekordboxEntry) -> int:
            theirs = [p.lower() for p in PurePosixPath(entry.location).parts]
            n = 0
            while n < min(len(theirs), len(local_parts)) and theirs[-1 - n] == local_parts[-1 - n]:
                n += 1
            return n

        return max(candidates, key=shared_tail)


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


@dataclass(frozen=True)
class Override:
    analysis: TrackAnalysis
    ini_cue: float | None  # a Rekordbox intro cue, when one applies
    fields: tuple[str, ...]  # what the XML replaced


def apply_override(analysis: TrackAnalysis, entry: RekordboxEntry) -> Override:
    """The analysis with the XML's BPM, key, grid and intro cue in place of its own."""
    changes: dict[str, object] = {}
    fields: list[str] = []
    if entry.average_bpm:
        changes["bpm"] = entry.average_bpm
        fields.append("bpm")
    if entry.tonality:
        try:
            key = parse_key(entry.tonality)
        except BadInput:
            key = None
        if key is not None:
            changes["key"], changes["camelot"] = key.name, key.camelot
            fields.append("key")
    if entry.grid:
        beats, positions = entry.beat_grid(analysis.duration)
        if len(beats) >= 2:
            changes["beats"] = beats
            changes["beat_positions"] = positions
            changes["downbeats"] = [t for t, p in zip(beats, positions, strict=True) if p == 1]
            fields.append("grid")
    updated = replace(analysis, **changes)  # type: ignore[arg-type]
    downbeats = updated.downbeats
    cue = entry.intro_cue(downbeats[0] if downbeats else None)
    if cue is not None:
        fields.append("cue")
    return Override(updated, None if cue is None else cue.start, tuple(fields))
