"""Constant-Q spectrum folded into 36-bin chroma: one for structure, one for the key.

One constant-Q transform (36 bins per octave, C1 to B7, librosa) feeds two chromas:

- ``chroma36``: all seven octaves folded, exactly what ``librosa.feature.chroma_cqt``
  returns (beats and segments compare bars by it);
- ``key_chroma36``: the same bins weighted by :func:`key_weights`, a smooth high-pass.

Why the key chroma plays down the lowest octave: below ~70 Hz a pop or EDM mix holds kick
drums (whose pitch glides through several semitones), 808s and sub-bass rumble, and the
constant-Q filters there are seconds long, so they smear whatever is played across the
chroma. Gómez (2006, "Tonal description of music audio signals", HPCP) keeps 100-5000 Hz
for the same reason; the bass notes themselves are not lost, since their second to fourth
harmonics lie above. The cut is smooth rather than Gómez's hard band edge because a hard
edge breaks transposition: a bass line moved two semitones up crosses it and suddenly
counts in full (benchmarks/analysis_key_transpose.py: 34 of 75 pitch-shifted cases kept
their key with a hard cut at 100 Hz, 51 with no cut, 62 with this weighting). On the
key-annotated excerpts of benchmarks/analysis_real.py it raised the MIREX score of the
Krumhansl-Kessler estimate from 45 to 63 % (10 excerpts; keys.py has the rest).
"""

from __future__ import annotations

import librosa
import numpy as np

BINS_PER_OCTAVE = 36
N_OCTAVES = 7
FMIN_HZ = 32.703195662574829  # C1: librosa's default, so chroma36 matches chroma_cqt
# Half weight at 70 Hz, falling 24 dB per octave below: a kick's body at 45-55 Hz counts
# 0.15-0.3, bass notes from A2 (110 Hz) up 0.85 or more. The CQT ends at B7 (3.95 kHz).
KEY_CORNER_HZ = 70.0
KEY_SLOPE = 4


def key_weights(freqs: np.ndarray) -> np.ndarray:
    """Weight of each constant-Q bin (centre frequency in Hz) in the key chroma."""
    return 1.0 / (1.0 + (KEY_CORNER_HZ / np.asarray(freqs, dtype=np.float64)) ** KEY_SLOPE)


class ChromaMapper:
    """Turns audio into (chroma36, key_chroma36) frames, both ``(36, frames)``."""

    def __init__(self, sample_rate: int, hop: int) -> None:
        self.sample_rate = sample_rate
        self.hop = hop
        n_bins = BINS_PER_OCTAVE * N_OCTAVES
        self._fold = librosa.filters.cq_to_chroma(
            n_bins, bins_per_octave=BINS_PER_OCTAVE, n_chroma=36, fmin=FMIN_HZ
        ).astype(np.float32)
        freqs = FMIN_HZ * 2.0 ** (np.arange(n_bins) / BINS_PER_OCTAVE)
        self._key_fold = (self._fold * key_weights(freqs)[None, :]).astype(np.float32)

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
