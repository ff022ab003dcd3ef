"""Beat grids from tempo markers, checked to the sample: rounding, tempo changes, phase."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from core.sections.cues import section_cues
from core.sections.djlibrary import apply_override
from core.sections.grid import GridMarker, beat_grid, markers_for
from core.sections.rekordbox import RekordboxCollection
from tests.analysis.test_cues_select import grid_track
from tests.djlibrary.exports import rekordbox6_demo

SR = 44100


def _section_frames(beats: list[float], positions: list[int], start: float, bars: int) -> int:
    track = grid_track(bpm=120.0, bars=80)
    track.beats, track.beat_positions = beats, positions
    track.downbeats = [t for t, p in zip(beats, positions, strict=True) if p == 1]
    track.duration = beats[-1] + 0.5
    cues = section_cues(track, bars, 120.0, ini_cue=start)
    return cues.frames_orig


@pytest.fixture
def demo2(tmp_path: Path):
    path = tmp_path / "database.xml"
    path.write_text(rekordbox6_demo(), encoding="utf-8")
    entry = RekordboxCollection.load(path).match("/home/dj/Demo Track 2.mp3")
    assert entry is not None
    return entry


def test_millisecond_rounded_markers_restate_a_straight_grid(demo2) -> None:
    beats, positions = demo2.beat_grid(128.0)
    # One beat every half second from 25 ms: the nine markers add no beats of their own.
    assert len(beats) == 256
    assert beats == pytest.approx([0.025 + 0.5 * k for k in range(256)], abs=1e-9)
    assert positions == [k % 4 + 1 for k in range(256)]
    assert min(b - a for a, b in pairwise(beats)) > 0.4999
    # Every 16-bar section, wherever it starts (also across the markers), is 32.000 s.
    for start in beats[::4]:
        if start + 32.0 <= beats[-1]:
            assert _section_frames(beats, positions, start, 16) == 32 * SR


def test_sixteen_bars_from_the_intro_land_on_downbeats(demo2) -> None:
    track = grid_track(bpm=119.0, bars=60, first=0.3, intro_bars=24)  # the analysis is off
    override = apply_override(track, demo2)
    assert set(override.fields) == {"bpm", "key", "grid"}
    cues = section_cues(override.analysis, 16, 124.0)
    assert cues.frames_orig == 32 * SR  # 16 bars of 120 BPM, not 59 beats
    assert cues.ini_cue == pytest.approx(48.025, abs=0.5 / SR)
    assert cues.ini_position == 1
    downbeats = override.analysis.downbeats
    assert min(abs(d - cues.end_cue) for d in downbeats) <= 0.5 / SR + 1e-9


def test_tempo_change_at_a_marker() -> None:
    markers = [GridMarker(0.0, 120.0), GridMarker(8.0, 126.0, 4, 1)]
    beats, positions = beat_grid(markers, 20.0)
    period = 60.0 / 126.0
    expected = [0.5 * k for k in range(16)] + [
        8.0 + period * k for k in range(int(12 / period) + 1)
    ]
    assert beats == pytest.approx(expected, abs=1e-9)
    assert positions[:20] == [k % 4 + 1 for k in range(20)]
    # 4 bars from beat 12 (6.0 s): 4 beats at 120, then 12 at 126 BPM, to the sample.
    frames = _section_frames(beats, positions, 6.0, 4)
    assert frames == round((8.0 + 12 * period - 6.0) * SR)


def test_near_duplicate_beat_before_a_tempo_change_is_the_markers_beat() -> None:
    # The 120 BPM grid has a beat at 48.025; the new tempo starts a millisecond later.
    markers = [GridMarker(0.025, 120.0), GridMarker(48.026, 126.0, 4, 1)]
    beats, positions = beat_grid(markers, 60.0)
    around = [b for b in beats if 47.0 < b < 49.0]
    assert around == pytest.approx([47.025, 47.525, 48.026, 48.026 + 60 / 126, 48.026 + 120 / 126])
    assert positions[beats.index(around[2])] == 1


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (10.3, [9.0, 9.5, 10.0, 10.3, 10.8]),  # well off the grid: 10.0 stays, a short beat
        (10.04, [9.0, 9.5, 10.04, 10.54, 11.04]),  # 0.08 beat from 10.0: the same beat
        (10.002, [9.0, 9.5, 10.0, 10.5, 11.0]),  # within rounding: the grid goes on
    ],
)
def test_marker_off_the_previous_grid(marker: float, expected: list[float]) -> None:
    beats, _ = beat_grid([GridMarker(0.0, 120.0), GridMarker(marker, 120.0)], 12.0)
    assert [b for b in beats if 8.9 < b < expected[-1] + 0.01] == pytest.approx(expected)


def test_markers_on_every_beat_of_a_live_drummer() -> None:
    # A drifting tempo, one marker per beat, written to the ms with BPM to 0.01.
    times = [0.2]
    for k in range(80):
        times.append(times[-1] + 60.0 / (120.0 + 3.0 * ((k % 7) - 3) / 7.0))
    times = [round(t, 3) for t in times]
    markers = [
        GridMarker(t, round(60.0 / (n - t), 2), 4, k % 4 + 1)
        for k, (t, n) in enumerate(pairwise(times))
    ]
    beats, positions = beat_grid(markers, times[-1] - 0.01)
    assert beats == pytest.approx(times[:-1], abs=1e-9)  # the markers are the beats
    assert positions == [k % 4 + 1 for k in range(80)]
    frames = _section_frames(beats, positions, times[8], 4)
    assert frames == round((times[24] - times[8]) * SR)


def test_battito_sets_the_bar_phase() -> None:
    beats, positions = beat_grid([GridMarker(1.1, 120.0, 4, 1)], 3.0)
    # The grid is drawn back to the start of the track, bars counted backwards.
    assert beats == pytest.approx([0.1, 0.6, 1.1, 1.6, 2.1, 2.6])
    assert positions == [3, 4, 1, 2, 3, 4]
    # A marker on the grid with another Battito moves the bar, not the beats.
    beats, positions = beat_grid([GridMarker(0.0, 120.0), GridMarker(4.0, 120.0, 4, 3)], 6.0)
    assert beats == pytest.approx([0.5 * k for k in range(13)])
    assert positions == [1, 2, 3, 4, 1, 2, 3, 4, 3, 4, 1, 2, 3]
    # Three beats to the bar.
    _, positions = beat_grid([GridMarker(0.0, 90.0, 3, 2)], 3.0)
    assert positions == [2, 3, 1, 2, 3]


def test_markers_for_reproduces_a_variable_grid() -> None:
    markers = [GridMarker(0.0, 120.0), GridMarker(8.0, 126.0), GridMarker(12.3, 110.0, 4, 2)]
    beats, positions = beat_grid(markers, 30.0)
    again = markers_for(beats, positions)
    # The beat before 12.3 s is a short one (12.3 is off the 126 BPM grid): its own marker.
    assert [round(m.start, 4) for m in again] == [0.0, 8.0, round(8 + 8 * 60 / 126, 4), 12.3]
    assert beat_grid(again, 30.0) == (pytest.approx(beats, abs=1e-6), positions)
