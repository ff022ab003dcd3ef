"""The parts' grid at the target tempo, and the Rekordbox XML written for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyrekordbox.rbxml import RekordboxXml

from core.errors import BadInput
from core.sections.cues import section_cues
from core.sections.cues_xml import part_grid, write_cues_xml
from core.sections.grid import GridMarker, beat_grid
from tests.analysis.test_cues_select import grid_track


def test_part_grid_of_a_tempo_change() -> None:
    track = grid_track(bpm=120.0, bars=40)
    beats, positions = beat_grid([GridMarker(0.0, 120.0), GridMarker(8.0, 126.0)], 60.0)
    track.beats, track.beat_positions = beats, positions
    track.downbeats = [t for t, p in zip(beats, positions, strict=True) if p == 1]
    cues = section_cues(track, 4, 123.0, ini_cue=6.0)  # 1 bar at 120, 3 bars at 126
    grid = part_grid(track, cues)
    speed = 123.0 / 120.0
    assert [round(m.start, 9) for m in grid] == [0.0, round(2.0 / speed, 9)]
    assert [m.bpm for m in grid] == pytest.approx([120.0 * speed, 126.0 * speed])
    assert [m.beat for m in grid] == [1, 1]


def test_part_grid_keeps_the_bar_phase() -> None:
    track = grid_track(bpm=120.0, bars=40)
    cues = section_cues(track, 2, 120.0, ini_cue=track.beats[10])  # the 3rd beat of a bar
    assert [(m.start, m.bpm, m.beat) for m in part_grid(track, cues)] == [(0.0, 120.0, 3)]


def _row(tmp_path: Path, name: str) -> dict[str, object]:
    part = tmp_path / "parts" / f"{name}_sectioned.wav"
    part.parent.mkdir(exist_ok=True)
    part.write_bytes(b"")
    return {
        "path": f"C:\\Music\\{name}.mp3",
        "key": "Gm",
        "target_bpm": 124.0,
        "begin_cue_adj": 23.2258,
        "end_cue_adj": 30.9677,
        "duration_sectioned": 30.9677,
        "part_file": f"parts/{name}_sectioned.wav",
        "ini_position": 1,
        "grid": [[0.0, 124.0, 1], [10.0, 130.2, 3]],
    }


def test_written_xml_reads_back(tmp_path: Path) -> None:
    rows = [_row(tmp_path, "Café Niño"), _row(tmp_path, "b")]
    target = write_cues_xml(rows, tmp_path, tmp_path / "out" / "set.xml", "My set")
    xml = RekordboxXml(str(target))
    first, second = xml.get_tracks()
    assert Path("/" + first["Location"].lstrip("/")) == tmp_path / "parts/Café Niño_sectioned.wav"
    assert "Caf%C3%A9%20Ni%C3%B1o" in target.read_text(encoding="utf-8")
    assert first["Name"] == "Café Niño (124 BPM)" and first["Tonality"] == "Gm"
    assert first["AverageBpm"] == 124.0 and first["TotalTime"] == 31
    assert [(t["Inizio"], t["Bpm"], t["Battito"]) for t in first.tempos] == [
        (0.0, 124.0, 1),
        (10.0, 130.2, 3),
    ]
    hot = sorted((m["Num"], m["Name"], m["Start"]) for m in first.marks if m["Num"] >= 0)
    assert hot == [(0, "ini", 0.0), (1, "begin", 23.226), (2, "end", 30.968)]
    assert sum(1 for m in second.marks if m["Num"] == -1) == 3
    assert xml.get_playlist("My set").get_tracks() == [first["TrackID"], second["TrackID"]]
    with pytest.raises(BadInput, match="no sections"):
        write_cues_xml([], tmp_path, tmp_path / "empty.xml", "x")
