"""The constant-Q chromas: the structure chroma is librosa's, the key chroma plays down sub-bass."""

from __future__ import annotations

import librosa
import numpy as np

from core.analysis.analyze import analyze_array
from core.analysis.chroma import ChromaMapper, key_weights
from core.analysis.features import CHROMA_HOP, SAMPLE_RATE

RNG = np.random.default_rng(12)


def _tone(freq: float, seconds: float, partials: int = 4) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return sum(0.6**k * np.sin(2 * np.pi * freq * (k + 1) * t) for k in range(partials))


def test_structure_chroma_is_librosa_chroma_cqt() -> None:
    # beats.py and segments.py compare bars by this chroma: it must not change with the key's.
    audio = (_tone(220.0, 6.0) + 0.1 * RNG.standard_normal(6 * SAMPLE_RATE)).astype(np.float32)
    chroma, _ = ChromaMapper(SAMPLE_RATE, CHROMA_HOP)(audio)
    expected = librosa.feature.chroma_cqt(
        y=audio,
        sr=SAMPLE_RATE,
        hop_length=CHROMA_HOP,
        bins_per_octave=36,
        n_chroma=36,
        tuning=0.0,
        norm=None,
    )
    np.testing.assert_allclose(chroma, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))


def test_key_chroma_leaves_out_the_sub_bass() -> None:
    weights = key_weights(np.array([45.0, 70.0, 110.0, 440.0]))
    assert weights[0] < 0.2 and weights[1] == 0.5 and weights[2] > 0.85 and weights[3] > 0.99
    assert np.all(np.diff(key_weights(np.geomspace(30, 4000, 50))) > 0)  # no edge to cross
    mapper = ChromaMapper(SAMPLE_RATE, CHROMA_HOP)
    sub = _tone(46.25, 6.0, partials=1).astype(np.float32)  # a kick's body, F#1
    chroma, key_chroma = mapper(sub)
    assert key_chroma.sum() < 0.2 * chroma.sum()
    mid = _tone(293.66, 6.0, partials=1).astype(np.float32)  # D4
    chroma, key_chroma = mapper(mid)
    assert key_chroma.sum() > 0.98 * chroma.sum()
    assert int(np.argmax(key_chroma.sum(axis=1))) == 3 * 2  # pitch class D


def test_key_is_not_pulled_by_a_gliding_kick() -> None:
    # Quiet A minor harmony (the bass A2 with A3, C4, E4) under a loud four-on-the-floor kick
    # whose pitch glides from 110 down to 44 Hz: its body sweeps through many semitones at
    # the bottom of the spectrum, which a chroma over all octaves reads as harmony (F#m).
    seconds, bpm = 12.0, 124.0
    harmony = sum(_tone(f, seconds) for f in (110.0, 220.0, 261.63, 329.63)) * 0.03
    kick = np.zeros(int(seconds * SAMPLE_RATE))
    length = int(0.3 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(44.0 + 66.0 * np.exp(-t / 0.04)) / SAMPLE_RATE
    hit = np.sin(phase) * np.exp(-t / 0.15)
    for start in np.arange(0, seconds - 0.4, 60.0 / bpm):
        i = int(start * SAMPLE_RATE)
        kick[i : i + length] += hit
    audio = (harmony + kick).astype(np.float32)
    analysis = analyze_array(audio / np.abs(audio).max())
    assert analysis.key == "Am"
