"""Rekordbox collection XML: matching by location, grid, cues; the XML is only read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.errors import BadInput
from core.sections.rekordbox import RekordboxCollection, apply_override
from tests.analysis.test_cues_select import grid_track

XML = """<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.8.5" Company="AlphaTheta"/>
  <COLLECTION Entries="3">
    <TRACK TrackID="1" Name="Win" Location="file://localhost/C:/Users/dj/Music/Deep%20One.wav"
           AverageBpm="121.00" Tonality="Gm" TotalTime="100">
      <TEMPO Inizio="0.100" Bpm="121.00" Metro="4/4" Battito="3"/>
      <POSITION_MARK Name="" Type="0" Start="0.100" Num="-1"/>
      <POSITION_MARK Name="drop" Type="0" Start="40.000" Num="1"/>
      <POSITION_MARK Name="" Type="0" Start="20.5289" Num="0"/>
    </TRACK>
    <TRACK TrackID="2" Name="Mac" Location="file://localhost/Users/dj/Music/sets/Other%20Track.mp3"
           AverageBpm="128.50" Tonality="8A" TotalTime="200">
      <TEMPO Inizio="0.000" Bpm="128.00" Metro="4/4" Battito="1"/>
      <TEMPO Inizio="30.000" Bpm="130.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="Intro end" Type="0" Start="60.000" Num="-1"/>
      <POSITION_MARK Name="" Type="0" Start="10.000" Num="2"/>
    </TRACK>
    <TRACK TrackID="3" Name="Dup" Location="file://localhost/Volumes/USB/crate/Other%20Track.mp3"
           AverageBpm="99.00" Tonality="" TotalTime="200"/>
  </COLLECTION>
  <PLAYLISTS><NODE Type="0" Name="ROOT" Count="0"/></PLAYLISTS>
</DJ_PLAYLISTS>
"""


@pytest.fixture
def xml_file(tmp_path: Path) -> Path:
    path = tmp_path / "collection.xml"
    path.write_text(XML, encoding="utf-8")
    return path


def test_locations_are_decoded_and_matched(xml_file: Path) -> None:
    before = hashlib.sha256(xml_file.read_bytes()).hexdigest()
    collection = RekordboxCollection.load(xml_file)
    locations = sorted(e.location for e in collection.entries)
    assert locations == [
        "/Users/dj/Music/sets/Other Track.mp3",
        "/Volumes/USB/crate/Other Track.mp3",
        "C:/Users/dj/Music/Deep One.wav",
    ]
    # Same path (macOS form), a Windows path, and by file name from another folder.
    assert collection.match("/Users/dj/Music/sets/Other Track.mp3").average_bpm == 128.5
    assert collection.match(r"C:\Users\dj\Music\Deep One.wav").tonality == "Gm"
    assert collection.match("/home/me/music/Deep One.wav").average_bpm == 121.0
    # Two candidates by name: the one sharing more folders wins.
    assert collection.match("/mnt/crate/Other Track.mp3").average_bpm == 99.0
    assert collection.match("/mnt/x/sets/Other Track.mp3").average_bpm == 128.5
    assert collection.match("/home/me/unknown.wav") is None
    assert hashlib.sha256(xml_file.read_bytes()).hexdigest() == before  # never modified


def test_grid_and_cue_override_the_analysis(xml_file: Path) -> None:
    entry = RekordboxCollection.load(xml_file).match("/x/Deep One.wav")
    assert entry is not None
    track = grid_track(bpm=120.0, key="Am", camelot="8A")
    override = apply_override(track, entry)
    analysis = override.analysis
    assert set(override.fields) == {"bpm", "key", "grid", "cue"}
    assert analysis.bpm == 121.0 and analysis.key == "Gm" and analysis.camelot == "6A"
    period = 60.0 / 121.0
    assert analysis.beats[:3] == pytest.approx([0.1, 0.1 + period, 0.1 + 2 * period])
    # Battito=3: the first grid beat is the third of its bar, so the first downbeat is two later.
    assert analysis.beat_positions[:4] == [3, 4, 1, 2]
    assert analysis.downbeats[0] == pytest.approx(0.1 + 2 * period)
    assert analysis.beats[-1] <= track.duration
    # The memory cue on the first beat is not an intro end; the earliest later cue is.
    assert override.ini_cue == pytest.approx(20.5289)
    assert track.bpm == 120.0  # the original analysis is untouched


def test_tempo_changes_and_named_cue(xml_file: Path) -> None:
    entry = RekordboxCollection.load(xml_file).match("/Users/dj/Music/sets/Other Track.mp3")
    assert entry is not None
    beats, positions = entry.beat_grid(60.0)
    early = [b for b in beats if b < 30]
    late = [b for b in beats if b >= 30]
    assert early[1] - early[0] == pytest.approx(60 / 128)
    assert late[0] == pytest.approx(30.0)
    assert late[1] - late[0] == pytest.approx(60 / 130)
    assert positions[:5] == [1, 2, 3, 4, 1]
    # A cue named "Intro end" wins over an earlier unnamed hot cue.
    assert entry.intro_cue(0.0).start == 60.0  # type: ignore[union-attr]


def test_bad_xml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such Rekordbox XML"):
        RekordboxCollection.load(tmp_path / "missing.xml")
    broken = tmp_path / "broken.xml"
    broken.write_text("<DJ_PLAYLISTS><COLLECTION>", encoding="utf-8")
    with pytest.raises(BadInput, match="not a Rekordbox collection XML"):
        RekordboxCollection.load(broken)
