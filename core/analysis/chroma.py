"""Constant-Q spectrum folded into 36-bin chroma: one for structure, one for the key.

One constant-Q transform (36 bins per octave, C1 to B7, librosa) feeds two chromas:

- ``chroma36``: all seven octaves folded, exactly what ``librosa.feature.chroma_cqt``
  returns (beats and segments compare bars by it);
- ``key_chroma36``: only the bins at or above :data:`KEY_MIN_HZ`.

Why the key chroma leaves out the lowest octaves: below ~100 Hz a pop or EDM mix holds
kick drums (whose pitch glides through several semitones), 808s and sub-bass rumble,
and the constant-Q filters there are seconds long, so they smear whatever is played
across the chroma. Gómez (2006, "Tonal description of music audio signals", HPCP) takes
100-5000 Hz for the same reason; the bass notes themselves are not lost, since their
second to fourth harmonics lie above the cut. On the key-annotated excerpts of
benchmarks/analysis_real.py this raised the MIREX score of our Krumhansl-Kessler
estimate from 35 to 63 % (10 excerpts; see keys.py for the rest of the method).
"""

from __future__ import annotations

import math

import librosa
import numpy as np

BINS_PER_OCTAVE = 36
N_OCTAVES = 7
FMIN_HZ = 32.703195662574829  # C1: librosa's default, so chroma36 matches chroma_cqt
KEY_MIN_HZ = 100.0  # Gómez 2006 (HPCP band 100-5000 Hz); the CQT ends at B7 (3.95 kHz)
# First constant-Q bin whose whole semitone (bins 3k-1..3k+1) lies above KEY_MIN_HZ.
KEY_FIRST_BIN = math.ceil(BINS_PER_OCTAVE * math.log2(KEY_MIN_HZ / FMIN_HZ))


class ChromaMapper:
    """Turns audio into (chroma36, key_chroma36) frames, both ``(36, frames)``."""

    def __init__(self, sample_rate: int, hop: int) -> None:
        self.sample_rate = sample_rate
        self.hop = hop
        n_bins = BINS_PER_OCTAVE * N_OCTAVES
        self._fold = librosa.filters.cq_to_chroma(
            n_bins, bins_per_octave=BINS_PER_OCTAVE, n_chroma=36, fmin=FMIN_HZ
        ).astype(np.float32)
        self._key_fold = self._fold.copy()
        self._key_fold[:, :KEY_FIRST_BIN] = 0.0

    def __call__(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spectrum = np.abs(
            librosa.cqt(
                audio,
                sr=self.sample_rate,
                hop_length=self.hop,
                fmin=FMIN_HZ,
                n_bins=BINS_PER_OCTAVE * N_OCTAVES,
                bins_per_octave=BINS_PER_OCTAVE,
                tuning=0.0,
            )
        ).astype(np.float32)
        return self._fold @ spectrum, self._key_fold @ spectrum
