"""The numpy beat tracker places beats on the pulses, as librosa's numba one does."""

from __future__ import annotations

import librosa
import numpy as np

from core.analysis.dp_beats import track_at_tempo
from tests.analysis.test_tempo_decision import FPS, pulses


def test_beats_fall_on_the_pulses_and_silence_is_trimmed() -> None:
    env = np.concatenate([np.zeros(int(3 * FPS)), pulses(20.0, (125.0, 1.0, 0.25))])
    frames = track_at_tempo(env, FPS, 125.0)
    times = frames / FPS - 3.0
    assert times[0] > -0.05  # nothing in the leading silence
    phase = ((times - 0.25) / 0.48 + 0.5) % 1.0 - 0.5
    assert np.abs(phase).max() * 0.48 < 0.03
    assert len(frames) >= 38


def test_same_beats_as_librosa_on_a_syncopated_pattern() -> None:
    # At periods of whole frames (librosa rounds the period; we do not) the two agree.
    rng = np.random.default_rng(7)
    env = pulses(30.0, (96.0, 1.0, 0.4), (192.0, 0.4, 0.4 + 60 / 384), (48.0, 0.6, 0.4))
    env = env + 0.05 * rng.random(len(env))
    for bpm in (60.0 * FPS / 27, 60.0 * FPS / 25, 60.0 * FPS / 18):
        _, expected = librosa.beat.beat_track(onset_envelope=env, sr=22050, hop_length=512, bpm=bpm)
        assert np.array_equal(track_at_tempo(env, FPS, bpm), expected), bpm
