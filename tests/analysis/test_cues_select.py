"""Cue maths (exact, to the sample) and the BPM/key selection filters."""

from __future__ import annotations

import pytest

from core.analysis.model import TrackAnalysis
from core.analysis.segments import Segment
from core.errors import BadInput
from core.sections.cues import Unsuitable, section_cues
from core.sections.select import TrackFilter


def grid_track(
    bpm: float = 120.0,
    bars: int = 40,
    first: float = 0.25,
    intro_bars: int = 8,
    key: str | None = "Gm",
    camelot: str | None = "6A",
) -> TrackAnalysis:
    period = 60.0 / bpm
    beats = [first + i * period for i in range(bars * 4)]
    duration = first + bars * 4 * period
    intro_end = beats[intro_bars * 4]
    return TrackAnalysis(
        path="/music/a.wav",
        duration=duration,
        bpm=bpm,
        beats=beats,
        downbeats=beats[::4],
        beat_positions=[i % 4 + 1 for i in range(len(beats))],
        segments=[Segment(0.0, intro_end, "intro"), Segment(intro_end, duration, "main")],
        key=key,
        camelot=camelot,
    )


@pytest.mark.parametrize(
    ("bpm", "target"),
    [(120.0, 122.5), (124.3, 122.5), (122.5, 122.5), (98.7, 101.3), (174.0, 170.0)],
)
def test_cue_maths(bpm: float, target: float) -> None:
    track = grid_track(bpm)
    cues = section_cues(track, bars=16, target_bpm=target)
    sr = cues.sample_rate
    speed = target / bpm
    assert cues.speed == pytest.approx(speed, rel=1e-15)
    # The section starts at the downbeat ending the intro and runs 16 bars of the grid.
    assert cues.ini_cue == pytest.approx(track.beats[32], abs=0.5 / sr)
    assert cues.end_cue == pytest.approx(track.beats[32 + 64], abs=0.5 / sr)
    assert cues.begin_cue == pytest.approx(track.beats[32 + 48], abs=0.5 / sr)  # last 4 bars
    # Cues are whole samples.
    for cue in (cues.ini_cue, cues.begin_cue, cues.end_cue):
        assert cue * sr == pytest.approx(round(cue * sr), abs=1e-6)
    # Adjusted cue = (cue - ini) / speed: the division Crowdstream got wrong.
    assert cues.begin_cue_adj == pytest.approx((cues.begin_cue - cues.ini_cue) / speed, rel=1e-12)
    assert cues.end_cue_adj == pytest.approx((cues.end_cue - cues.ini_cue) / speed, rel=1e-12)
    # 16 bars at the target tempo last 64 beats of 60/target seconds.
    assert cues.end_cue_adj == pytest.approx(64 * 60.0 / target, abs=1.0 / sr)
    assert cues.duration_orig == pytest.approx(cues.end_cue - cues.ini_cue, abs=1e-12)
    # Sample-exact: the stretched part is within half a sample of duration_orig / speed.
    assert abs(cues.frames_sectioned - cues.frames_orig / speed) <= 0.5
    assert abs(cues.duration_sectioned - cues.duration_orig / speed) <= 0.5 / sr


def test_no_intro_falls_back_to_first_downbeat() -> None:
    track = grid_track()
    track.segments = [Segment(0.0, track.duration, "main")]
    cues = section_cues(track, bars=4, target_bpm=120.0)
    assert cues.ini_source == "first downbeat"
    assert cues.ini_cue == pytest.approx(track.downbeats[0], abs=1e-4)


def test_rekordbox_cue_snaps_to_the_nearest_beat() -> None:
    track = grid_track()
    cues = section_cues(track, bars=2, target_bpm=120.0, ini_cue=track.beats[10] + 0.01)
    assert cues.ini_source == "rekordbox cue"
    assert cues.ini_cue == pytest.approx(track.beats[10], abs=1e-4)
    assert cues.end_cue == pytest.approx(track.beats[18], abs=1e-4)


def test_mix_bars() -> None:
    track = grid_track()
    cues = section_cues(track, bars=8, target_bpm=125.0, mix_bars=2)
    assert cues.begin_cue == pytest.approx(track.beats[32 + 24], abs=1e-4)
    with pytest.raises(BadInput, match="mix-bars"):
        section_cues(track, bars=8, target_bpm=125.0, mix_bars=9)


def test_grid_is_extended_to_the_end_of_the_track() -> None:
    track = grid_track(bars=20)
    track.beats = track.beats[:-6]  # the tracker stopped early; the audio goes on
    cues = section_cues(track, bars=12, target_bpm=120.0)
    assert cues.end_cue == pytest.approx(0.25 + 80 * 0.5, abs=1e-4)


def test_too_short_is_unsuitable() -> None:
    with pytest.raises(Unsuitable, match="too short for 16 bars"):
        section_cues(grid_track(bars=20), bars=16, target_bpm=120.0)


def test_bad_requests() -> None:
    track = grid_track()
    with pytest.raises(BadInput, match="bars"):
        section_cues(track, bars=0, target_bpm=120.0)
    with pytest.raises(Unsuitable, match="speed"):
        section_cues(track, bars=4, target_bpm=300.0)
    track.bpm = None
    with pytest.raises(Unsuitable, match="no tempo"):
        section_cues(track, bars=4, target_bpm=120.0)


def test_bpm_window_is_inclusive() -> None:
    f = TrackFilter.build(122.5, 2.0)
    assert f.reject_reason(grid_track(120.5)) is None
    assert f.reject_reason(grid_track(124.5)) is None
    assert "outside 120.5-124.5" in (f.reject_reason(grid_track(124.51)) or "")
    assert f.reject_reason(grid_track(120.49)) is not None
    no_tempo = grid_track()
    no_tempo.bpm = None
    assert f.reject_reason(no_tempo) == "no tempo found"


def test_key_filter_any_notation() -> None:
    f = TrackFilter.build(120, 2, "G minor, 5A")  # Gm and Cm
    assert f.reject_reason(grid_track(key="Gm")) is None
    assert f.reject_reason(grid_track(key="Cm")) is None
    reason = f.reject_reason(grid_track(key="Dm"))
    assert reason is not None and "Dm (7A)" in reason
    assert f.reject_reason(grid_track(key=None)) == "key unknown"
    # A key stored in Camelot form (as some JSONs have) still compares as a key.
    assert f.reject_reason(grid_track(key="6A")) is None


def test_harmonic_admits_camelot_neighbours() -> None:
    f = TrackFilter.build(120, 2, "Gm", harmonic=True)  # 6A
    for key in ("Gm", "Bb", "Cm", "Dm"):  # 6A, 6B, 5A, 7A
        assert f.reject_reason(grid_track(key=key)) is None, key
    for key in ("Am", "F", "Eb", "G"):  # 8A, 7B, 5B, 9B
        assert f.reject_reason(grid_track(key=key)) is not None, key
    strict = TrackFilter.build(120, 2, "Gm")
    assert strict.reject_reason(grid_track(key="Dm")) is not None


def test_filter_refuses_nonsense() -> None:
    with pytest.raises(BadInput, match="bpm"):
        TrackFilter.build(0)
    with pytest.raises(BadInput, match="delta"):
        TrackFilter.build(120, -1)
    with pytest.raises(BadInput, match="--harmonic needs --key"):
        TrackFilter.build(120, 2, None, harmonic=True)
    with pytest.raises(BadInput, match="key"):
        TrackFilter.build(120, 2, "Q#m")


def test_grid_at_alternative_tempo() -> None:
    from core.analysis.regrid import at_tempo

    track = grid_track(120.0, bars=8, intro_bars=2)
    track.bpm_alternatives = [60.0, 240.0]
    half = at_tempo(track, 60.0)
    # Every second beat, starting on the first downbeat; bars of four new beats.
    assert half.beats == pytest.approx(track.beats[::2])
    assert half.downbeats == pytest.approx(track.beats[::8])
    assert half.beat_positions[:5] == [1, 2, 3, 4, 1]
    assert half.bpm == 60.0 and half.bpm_alternatives == [120.0, 240.0]
    double = at_tempo(track, 240.0)
    period = 60.0 / 120.0
    assert double.beats[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert double.beats[1::2][: len(track.beats) - 1] == pytest.approx(
        [b + period / 2 for b in track.beats[:-1]]
    )
    assert double.downbeats[:2] == pytest.approx([track.beats[0], track.beats[2]])
    # Selection: the alternative admits the track, and the reason names it when none fits.
    assert TrackFilter.build(60.0, 1.0).tempo_for(track) == 60.0
    assert TrackFilter.build(120.0, 1.0).tempo_for(track) == 120.0
    assert TrackFilter.build(90.0, 1.0).reject_reason(track) == (
        "120.00 BPM (or 60.00) (or 240.00) is outside 89-91"
    )


def test_reply_names_the_alternative() -> None:
    from bot.commands.render import tempo_alternatives_text

    assert tempo_alternatives_text([174.0]) == " (or 174)"
    assert tempo_alternatives_text([87.0, 116.2], chosen=True) == (
        " (alternative tempo; analysed as 87)"
    )
    assert tempo_alternatives_text([]) == ""
