"""Prepared cues out: the exported parts as a new Rekordbox collection XML.

Each part becomes a track whose grid is the section's grid played at the target
tempo, with memory cues and hot cues A/B/C at ``ini``, ``begin`` and ``end``, all
in one playlist, so a DJ imports the prepared set in one step. The XML is written
with pyrekordbox's writer; the collection the overrides came from is never touched.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from pathlib import Path, PureWindowsPath
from typing import Any

from core.analysis.model import TrackAnalysis
from core.errors import BadInput
from core.sections.cues import SectionCues
from core.sections.grid import GridMarker, markers_for

CUE_NAMES = ("ini", "begin", "end")


def part_grid(
    analysis: TrackAnalysis, cues: SectionCues, beats_per_bar: int = 4
) -> list[GridMarker]:
    """The grid of the tempo-aligned part: its beats at ``(t - ini) / speed``."""
    beats = sorted(analysis.beats)
    if not beats or not analysis.bpm:
        return []
    period = 60.0 / analysis.bpm
    i = bisect.bisect_left(beats, cues.ini_cue - 0.5 * period)
    positions = analysis.beat_positions if len(analysis.beat_positions) == len(beats) else []
    times: list[float] = []
    bars: list[int] = []
    origin = beats[min(i, len(beats) - 1)]  # the grid beat the intro cue was rounded from
    j = i
    while True:
        t = beats[j] if j < len(beats) else beats[-1] + (j - len(beats) + 1) * period
        if t >= cues.end_cue - 0.25 * period:
            break
        times.append(max(0.0, (t - origin) / cues.speed))
        if j < len(positions):
            bars.append(positions[j])
        else:
            start = bars[0] if bars else cues.ini_position
            bars.append((start - 1 + j - i) % beats_per_bar + 1)
        j += 1
    return markers_for(times, bars, beats_per_bar)


def _location(path: Path) -> str:
    """What pyrekordbox's ``encode_path`` expects: it adds ``file://localhost/`` itself."""
    text = str(path)
    if PureWindowsPath(text).drive:
        return text
    return path.as_posix().lstrip("/")


def write_cues_xml(
    rows: Iterable[Mapping[str, Any]], base: Path, target: Path, playlist: str
) -> Path:
    """Write the rows (the sections job's ``selected``) as a Rekordbox XML at ``target``.

    Part paths in the rows are relative to ``base``; the XML holds absolute ones.
    """
    from pyrekordbox.rbxml import RekordboxXml

    xml = RekordboxXml(name="CrateBot", version="1", company="CrateBot")
    node = xml.add_playlist(playlist)
    count = 0
    for row in rows:
        part = (base / str(row["part_file"])).resolve()
        target_bpm = float(row["target_bpm"])
        attributes: dict[str, Any] = {
            "Name": f"{Path(str(row['path']).replace(chr(92), '/')).stem} ({target_bpm:g} BPM)",
            "Kind": "WAV File",
            "TotalTime": max(1, round(float(row["duration_sectioned"]))),
            "AverageBpm": f"{target_bpm:.2f}",
            "SampleRate": "44100",
            "Comments": f"CrateBot section of {Path(str(row['path'])).name}",
        }
        if row.get("key"):
            attributes["Tonality"] = str(row["key"])
        track = xml.add_track(_location(part), **attributes)
        grid = row.get("grid") or [[0.0, target_bpm, row.get("ini_position") or 1]]
        for start, bpm, beat in grid:
            track.add_tempo(
                Inizio=f"{float(start):.3f}", Bpm=f"{float(bpm):.2f}", Metro="4/4", Battito=beat
            )
        places = (0.0, float(row["begin_cue_adj"]), float(row["end_cue_adj"]))
        for num, (name, start) in enumerate(zip(CUE_NAMES, places, strict=True)):
            track.add_mark(Name=name, Type="cue", Start=f"{start:.3f}", Num=-1)
            track.add_mark(Name=name, Type="cue", Start=f"{start:.3f}", Num=num)
        node.add_track(track["TrackID"])
        count += 1
    if count == 0:
        raise BadInput("no sections to write cues for")
    target.parent.mkdir(parents=True, exist_ok=True)
    xml.save(str(target))
    return target
