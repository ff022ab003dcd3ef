"""Analysis of synthetic tracks whose tempo, bars, intro and key are known."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from core.analysis import analyze_track
from core.errors import BadInput
from tests.analysis.synth import make_track


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("synth")
    path = make_track(
        folder / "groove.wav", bpm=124.0, bars=40, intro_bars=8, outro_bars=8, lead_in_s=0.3
    )
    return path, analyze_track(path)


def test_tempo_beats_and_downbeats(synthetic) -> None:
    _path, analysis = synthetic
    assert analysis.bpm == pytest.approx(124.0, rel=0.002)
    period = 60.0 / 124.0
    beats = np.asarray(analysis.beats)
    # Every tracked beat lies on the true grid (within 25 ms).
    phase = (beats - 0.3) / period
    assert np.abs(phase - np.round(phase)).max() * period < 0.025
    assert len(beats) >= 150
    # Downbeats are every fourth beat of the true bars, and positions count 1..4.
    bars = (np.asarray(analysis.downbeats) - 0.3) / (4 * period)
    assert np.abs(bars - np.round(bars)).max() * 4 * period < 0.025
    positions = np.asarray(analysis.beat_positions)
    assert set(positions) == {1, 2, 3, 4}
    assert np.array_equal(beats[positions == 1], np.asarray(analysis.downbeats))


def test_intro_outro_and_key(synthetic) -> None:
    _path, analysis = synthetic
    bar = 4 * 60.0 / 124.0
    intro = analysis.segment_at("intro")
    outro = analysis.segment_at("outro")
    assert intro and outro
    assert intro[0].start == 0.0
    assert intro[0].end == pytest.approx(0.3 + 8 * bar, abs=0.03)
    assert outro[-1].start == pytest.approx(0.3 + 32 * bar, abs=0.03)
    assert outro[-1].end == pytest.approx(analysis.duration)
    assert analysis.key == "Am" and analysis.camelot == "8A"


def test_loudness_and_identity(synthetic) -> None:
    path, analysis = synthetic
    assert analysis.loudness_lufs is not None and -30 < analysis.loudness_lufs < 0
    assert analysis.peak_dbfs is not None and analysis.peak_dbfs <= 0.1
    assert analysis.duration == pytest.approx(soundfile.info(str(path)).duration, abs=0.01)
    assert analysis.path == str(path.resolve()) and len(analysis.sha256 or "") == 64


def test_non_audio_is_refused(tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not music\n" * 50)
    with pytest.raises(BadInput, match="notes.txt"):
        analyze_track(notes)
    with pytest.raises(BadInput, match="no such file"):
        analyze_track(tmp_path / "missing.wav")


def test_too_short_is_refused(tmp_path) -> None:
    short = tmp_path / "blip.wav"
    soundfile.write(str(short), np.zeros((22050 * 2, 2), np.float32) + 0.1, 22050)
    with pytest.raises(BadInput, match=r"blip.wav: 2.0 s is too short to analyse"):
        analyze_track(short)


def test_silence_is_refused(tmp_path) -> None:
    silent = tmp_path / "silent.wav"
    soundfile.write(str(silent), np.zeros((22050 * 6, 2), np.float32), 22050)
    with pytest.raises(BadInput, match="silent"):
        analyze_track(silent)
