"""Streaming BS.1770 meter against pyloudnorm, and the gain rules."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest

from core.stems.loudness import (
    LoudnessMeter,
    LoudnessReport,
    headroom_gain,
    normalisation_gain,
)
from tests.stems.conftest import music_like


def _measure(audio: np.ndarray, block: int) -> LoudnessReport:
    meter = LoudnessMeter(44100, audio.shape[1])
    for i in range(0, len(audio), block):
        meter.feed(audio[i : i + block])
    return meter.report()


@pytest.mark.parametrize("seconds, block", [(0.4, 1000), (3.3, 4410), (12.7, 65536)])
def test_matches_pyloudnorm(seconds: float, block: int) -> None:
    audio = music_like(seconds, seed=3).astype(np.float64)
    audio[: len(audio) // 3] *= 0.01  # a quiet passage so both gates matter
    expected = pyloudnorm.Meter(44100).integrated_loudness(audio)
    report = _measure(audio, block)
    assert report.integrated_lufs == pytest.approx(expected, abs=0.01)
    assert report.sample_peak == pytest.approx(np.abs(audio).max())
    assert report.frames == len(audio)


def test_silence_and_too_short_give_no_loudness() -> None:
    assert _measure(np.zeros((44100 * 2, 2)), 5000).integrated_lufs is None
    assert _measure(np.zeros((44100, 2)), 5000).peak_dbfs is None
    assert _measure(music_like(0.3), 5000).integrated_lufs is None  # under one 400 ms block


def test_normalisation_reaches_target_when_peaks_allow() -> None:
    report = LoudnessReport(44100, -30.0, 10 ** (-20 / 20))  # crest factor 10 dB
    gain = normalisation_gain(report, -14.0, ceiling_dbfs=-1.0)
    assert gain.gain_db == pytest.approx(16.0)
    assert not gain.peak_limited


def test_normalisation_stops_at_the_peak_ceiling() -> None:
    report = LoudnessReport(44100, -30.0, 10 ** (-6 / 20))  # crest factor 24 dB
    gain = normalisation_gain(report, -14.0, ceiling_dbfs=-1.0)
    assert gain.gain_db == pytest.approx(5.0)
    assert gain.peak_limited


def test_silent_file_gets_no_gain() -> None:
    gain = normalisation_gain(LoudnessReport(44100, None, 0.0), -14.0)
    assert gain.gain_db == 0.0 and not gain.peak_limited
    assert math.isfinite(gain.gain_db)


def test_headroom_gain_is_common_and_only_when_clipping() -> None:
    assert headroom_gain([0.5, 0.9]) == 1.0
    assert headroom_gain([0.5, 2.0]) == pytest.approx(1 / 1.01 / 2.0)
    assert headroom_gain([]) == 1.0
