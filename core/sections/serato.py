"""Serato: beat grid and cues from each track's own tags, optionally via ``database V2``.

Serato keeps grids and cues in the audio files, not in a collection file: the
``Serato BeatGrid`` and ``Serato Markers2`` GEOB frames of ID3 tags (MP3, AIFF,
WAV), base64 in Vorbis comments (FLAC, Ogg) and ``----:com.serato.dj:`` atoms (MP4).
mutagen reads the tags; serato-tools (MIT) parses the two payloads. ``database V2``
(in the ``_Serato_`` folder) lists the tracks Serato knows with BPM and key; when
it is given, only tracks found in it are overridden.

Beat grid payload: markers of (position s, beats until the next marker) ending in
one (position s, BPM); the first marker is a downbeat and the bar count carries on
through the markers.
"""

from __future__ import annotations

import base64
import binascii
import struct
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.sections.djlibrary import DjCollection, DjEntry
from core.sections.grid import CueMark, GridMarker

BEATGRID = "Serato BeatGrid"
MARKERS2 = "Serato Markers2"
_VORBIS = {BEATGRID: "serato_beatgrid", MARKERS2: "serato_markers_v2"}
_MP4 = {BEATGRID: "----:com.serato.dj:beatgrid", MARKERS2: "----:com.serato.dj:markersv2"}
_PARSE_ERRORS = (AssertionError, ValueError, IndexError, KeyError, struct.error, TypeError)


def _b64(data: bytes) -> bytes:
    data = b"".join(data.split())
    return base64.b64decode(data + b"=" * (-len(data) % 4))


def _unwrap(blob: bytes, name: str) -> bytes | None:
    """Vorbis/MP4 values: base64 of ``mime\\0\\0<name>\\0`` followed by the GEOB payload."""
    try:
        raw = _b64(blob)
    except (binascii.Error, ValueError):
        return None
    marker = name.encode() + b"\x00"
    at = raw.find(marker)
    return raw[at + len(marker) :] if at >= 0 else None


def _payloads(tags: Any) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if tags is None:
        return out
    getall = getattr(tags, "getall", None)
    if callable(getall):  # ID3
        for frame in getall("GEOB"):
            if frame.desc in (BEATGRID, MARKERS2):
                out[frame.desc] = bytes(frame.data)
        return out
    for name in (BEATGRID, MARKERS2):
        for key in (_VORBIS[name], _VORBIS[name].upper(), _MP4[name]):
            try:
                values = tags[key]
            except (KeyError, ValueError, TypeError):
                continue
            first = values[0] if isinstance(values, list) and values else values
            blob = first.encode() if isinstance(first, str) else bytes(first)
            data = _unwrap(blob, name)
            if data is not None:
                out[name] = data
                break
    return out


def _text_tag(tags: Any, id3: str, vorbis: str) -> str | None:
    if tags is None:
        return None
    for key in (id3, vorbis, vorbis.upper()):
        try:
            value = tags[key]
        except (KeyError, ValueError, TypeError):
            continue
        text = value.text[0] if hasattr(value, "text") else value[0] if value else None
        if text is not None and str(text).strip():
            return str(text).strip()
    return None


def grid_from_beatgrid(data: bytes) -> tuple[GridMarker, ...]:
    from serato_tools.track_beatgrid import TrackBeatgrid

    entries = [
        e for e in TrackBeatgrid(data).entries or [] if not isinstance(e, TrackBeatgrid.Footer)
    ]
    markers: list[GridMarker] = []
    beat = 1
    for n, entry in enumerate(entries):
        position = float(entry.position)
        if isinstance(entry, TrackBeatgrid.TerminalBeatgridMarker):
            bpm = float(entry.bpm)
        else:
            count = int(entry.beats_till_next_marker)
            following = entries[n + 1] if n + 1 < len(entries) else None
            if following is None or count <= 0:
                continue
            span = float(following.position) - position
            if span <= 0:
                continue
            bpm = 60.0 * count / span
        if bpm > 0:
            markers.append(GridMarker(position, bpm, 4, beat))
        if isinstance(entry, TrackBeatgrid.NonTerminalBeatgridMarker):
            beat = (beat - 1 + int(entry.beats_till_next_marker)) % 4 + 1
    return tuple(markers)


def cues_from_markers2(data: bytes) -> tuple[CueMark, ...]:
    from serato_tools.track_cues_v2 import TrackCuesV2

    out: list[CueMark] = []
    for entry in TrackCuesV2(data).entries:
        if isinstance(entry, TrackCuesV2.CueEntry):
            out.append(CueMark(entry.name, entry.position / 1000.0, int(entry.index)))
        elif isinstance(entry, TrackCuesV2.LoopEntry):
            out.append(CueMark(entry.name or "loop", entry.startposition / 1000.0, -1))
    return tuple(out)


def read_tags(path: Path) -> DjEntry | None:
    """The Serato grid, cues, BPM and key in ``path``'s tags; None when it has none."""
    import mutagen

    try:
        audio = mutagen.File(str(path))
    except (mutagen.MutagenError, OSError, ValueError):
        return None
    tags = getattr(audio, "tags", None)
    payloads = _payloads(tags)
    grid: tuple[GridMarker, ...] = ()
    cues: tuple[CueMark, ...] = ()
    try:
        if BEATGRID in payloads:
            grid = grid_from_beatgrid(payloads[BEATGRID])
    except _PARSE_ERRORS:
        grid = ()
    try:
        if MARKERS2 in payloads:
            cues = cues_from_markers2(payloads[MARKERS2])
    except _PARSE_ERRORS:
        cues = ()
    bpm_text = _text_tag(tags, "TBPM", "bpm")
    try:
        bpm = float(bpm_text) if bpm_text else None
    except ValueError:
        bpm = None
    key = _text_tag(tags, "TKEY", "initialkey")
    if not (grid or cues):
        return None
    return DjEntry(str(path).replace("\\", "/"), bpm if bpm and bpm > 0 else None, key, grid, cues)


class SeratoLibrary(DjCollection):
    software = "serato"

    def __init__(self, known: list[DjEntry] | None) -> None:
        super().__init__(known or [])
        self.restricted = known is not None

    @classmethod
    def load(cls, path: str | Path) -> SeratoLibrary:
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / "database V2"
        if not path.is_file():
            raise BadInput(f"{path}: no such Serato database")
        from serato_tools.database_v2 import DatabaseV2

        try:
            items = list(DatabaseV2(str(path)).data)
        except (*_PARSE_ERRORS, UnicodeDecodeError, OSError) as exc:
            raise BadInput(f"{path.name}: not a Serato database V2 ({exc})") from exc
        known = []
        for field, _length, value in items:
            if field != "otrk" or not isinstance(value, tuple):
                continue
            fields = {f: v for f, _n, v in value}
            where = str(fields.get("pfil") or "").replace("\\", "/")
            if not where:
                continue
            if not where.startswith("/") and not (len(where) > 1 and where[1] == ":"):
                where = "/" + where  # Serato stores paths without the leading slash
            bpm = _number(fields.get("tbpm"))
            key = str(fields.get("tkey") or "").strip() or None
            known.append(DjEntry(where, bpm, key, (), ()))
        return cls(known)

    def match(self, path: str) -> DjEntry | None:
        listed = super().match(path) if self.restricted else None
        if self.restricted and listed is None:
            return None
        tagged = read_tags(Path(path))
        if tagged is None:
            return listed
        if listed is None:
            return tagged
        return DjEntry(
            tagged.location,
            tagged.average_bpm or listed.average_bpm,
            tagged.tonality or listed.tonality,
            tagged.grid,
            tagged.cues,
        )


def _number(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
