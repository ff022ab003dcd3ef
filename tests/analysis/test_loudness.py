"""The block-wise BS.1770 meter agrees with pyloudnorm's whole-array one."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from core.analysis.loudness import LoudnessMeter


@pytest.mark.parametrize("block", [1000, 4410, 65536])
def test_streaming_matches_pyloudnorm(block: int) -> None:
    sr = 22050
    rng = np.random.default_rng(1)
    t = np.arange(sr * 12) / sr
    # A loud part and a quiet part, so both gates matter.
    envelope = np.where(t < 6, 0.5, 0.02)
    audio = np.stack([np.sin(2 * np.pi * 440 * t), rng.standard_normal(len(t)) * 0.3], 1)
    audio = audio * envelope[:, None]
    meter = LoudnessMeter(sr, 2)
    for start in range(0, len(audio), block):
        meter.add(audio[start : start + block])
    expected = pyloudnorm.Meter(sr).integrated_loudness(audio)
    assert meter.integrated() == pytest.approx(expected, abs=0.02)


def test_too_short_or_silent_is_none() -> None:
    meter = LoudnessMeter(22050, 1)
    meter.add(np.zeros(22050))
    assert meter.integrated() is None
    short = LoudnessMeter(22050, 1)
    short.add(np.ones(2000) * 0.5)
    assert short.integrated() is None


def test_channel_count_is_checked() -> None:
    with pytest.raises(ValueError, match="channels"):
        LoudnessMeter(22050, 2).add(np.zeros((100, 3)))
