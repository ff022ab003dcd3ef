"""A DJ's own library (Rekordbox, Traktor, Serato) as the source of BPM, key, grid and cues.

Whatever the software, a track comes down to a :class:`DjEntry`; entries are
matched to local files by their location: first the whole path, then the file
name, preferring the candidate sharing the longest tail of folders. The library
files are only read, never written.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path, PurePosixPath

from core.analysis.keys import parse_key
from core.analysis.model import TrackAnalysis
from core.errors import BadInput
from core.sections.grid import CueMark, GridMarker, beat_grid

_INTRO_NAME = re.compile(r"intro|mix.?in|\bini\b", re.IGNORECASE)


@dataclass(frozen=True)
class DjEntry:
    location: str  # decoded, forward slashes
    average_bpm: float | None
    tonality: str | None
    grid: tuple[GridMarker, ...]
    cues: tuple[CueMark, ...]

    @property
    def name(self) -> str:
        return PurePosixPath(self.location).name

    def beat_grid(self, duration: float) -> tuple[list[float], list[int]]:
        """Beat times and bar positions (1..n) from the grid markers, up to ``duration``."""
        return beat_grid(self.grid, duration)

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


class DjCollection:
    """Entries of one library file, matched to local paths."""

    software = "dj library"

    def __init__(self, entries: list[DjEntry]) -> None:
        self.entries = entries
        self._by_path = {_fold(e.location): e for e in entries}
        self._by_name: dict[str, list[DjEntry]] = {}
        self._by_loose_name: dict[str, list[DjEntry]] = {}
        self._by_stem: dict[str, list[DjEntry]] = {}
        for entry in entries:
            self._by_name.setdefault(_fold(entry.name), []).append(entry)
            self._by_loose_name.setdefault(_loose(entry.name), []).append(entry)
            self._by_stem.setdefault(_loose(PurePosixPath(entry.name).stem), []).append(entry)

    def match(self, path: str) -> DjEntry | None:
        local = str(path).replace("\\", "/")
        exact = self._by_path.get(_fold(local))
        if exact is not None:
            return exact
        name = PurePosixPath(local).name
        # Chat uploads arrive with spaces and odd characters replaced ("Demo_Track_2.mp3"),
        # so a name that matches nothing is tried again with only letters and digits.
        candidates = self._by_name.get(_fold(name)) or self._by_loose_name.get(_loose(name), [])
        if not candidates:
            # Last resort, the same title in another format (a WAV of the MP3 the library
            # knows), only when exactly one entry has it.
            same_stem = self._by_stem.get(_loose(PurePosixPath(name).stem), [])
            return same_stem[0] if len(same_stem) == 1 else None
        local_parts = [_fold(p) for p in PurePosixPath(local).parts]

        def shared_tail(entry: DjEntry) -> int:
            theirs = [_fold(p) for p in PurePosixPath(entry.location).parts]
            n = 0
            while n < min(len(theirs), len(local_parts)) and theirs[-1 - n] == local_parts[-1 - n]:
                n += 1
            return n

        return max(candidates, key=shared_tail)


def _fold(text: str) -> str:
    """Case- and normalisation-blind: macOS writes ``é`` decomposed (NFD), Linux composed."""
    return unicodedata.normalize("NFC", text).casefold()


def _loose(name: str) -> str:
    return re.sub(r"[\W_]+", "", _fold(name))


@dataclass(frozen=True)
class Override:
    analysis: TrackAnalysis
    ini_cue: float | None  # the library's intro cue, when one applies
    fields: tuple[str, ...]  # what the library replaced


def apply_override(analysis: TrackAnalysis, entry: DjEntry) -> Override:
    """The analysis with the library's BPM, key, grid and intro cue in place of its own."""
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
            if "bpm" not in changes:
                # No average tempo given: the grid's typical beat decides.
                changes["bpm"] = 60.0 / statistics.median(b - a for a, b in pairwise(beats))
                fields.append("bpm")
    if "bpm" in changes:
        changes["bpm_alternatives"] = []  # the DJ's own tempo settles any ambiguity
    updated = replace(analysis, **changes)  # type: ignore[arg-type]
    downbeats = updated.downbeats
    cue = entry.intro_cue(downbeats[0] if downbeats else None)
    if cue is not None:
        fields.append("cue")
    return Override(updated, None if cue is None else cue.start, tuple(fields))


SERATO_WORD = "serato"


def load_dj_library(path: str | Path) -> DjCollection:
    """The library behind ``path``, chosen by file type.

    ``.xml``: Rekordbox collection export; ``.nml``: Traktor ``collection.nml``;
    Serato's ``database V2`` file, its ``_Serato_`` folder or the word ``serato``:
    Serato's grid and cues from each track's own tags.
    """
    text = str(path).strip()
    if text.lower() == SERATO_WORD:
        from core.sections.serato import SeratoLibrary

        return SeratoLibrary(None)
    file = Path(text).expanduser()
    suffix = file.suffix.lower()
    if suffix == ".xml":
        from core.sections.rekordbox import RekordboxCollection

        return RekordboxCollection.load(file)
    if suffix == ".nml":
        from core.sections.traktor import TraktorCollection

        return TraktorCollection.load(file)
    if file.name.lower() == "database v2" or file.name.lower() == "_serato_":
        from core.sections.serato import SeratoLibrary

        return SeratoLibrary.load(file)
    if not file.exists():
        raise BadInput(f"{file}: no such DJ library file")
    raise BadInput(
        f"{file.name}: not a DJ library I can read; give a Rekordbox collection .xml, "
        "a Traktor collection.nml, Serato's database V2 (or _Serato_ folder) or the word serato"
    )
