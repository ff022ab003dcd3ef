"""Windowed HPSS equals librosa's whole-signal HPSS."""

from __future__ import annotations

import librosa
import numpy as np

from core.stems.hpss import StreamingHPSS
from tests.stems.conftest import music_like


def test_windowed_hpss_equals_whole_signal() -> None:
    audio = music_like(9.3, seed=4)
    harmonic, percussive = librosa.effects.hpss(np.ascontiguousarray(audio.T))
    splitter = StreamingHPSS(2, chunk_s=2.0)
    parts = []
    for i in range(0, len(audio), 12345):
        parts += list(splitter.feed(audio[i : i + 12345]))
    parts += list(splitter.finish())
    assert len(parts) >= 4
    got_h = np.concatenate([h for h, _ in parts]).T
    got_p = np.concatenate([p for _, p in parts]).T
    assert got_h.shape == harmonic.shape
    np.testing.assert_allclose(got_h, harmonic, atol=1e-5)
    np.testing.assert_allclose(got_p, percussive, atol=1e-5)
    # and it is a real split: the parts add back up to the input
    np.testing.assert_allclose(got_h + got_p, audio.T, atol=2e-3)
