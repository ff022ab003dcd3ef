"""Synthetic dance tracks with known tempo, bars, intro and key, written as WAV.

A quiet intro (hi-hats and a soft kick), a full part (kick, bass and chords that
change on every downbeat) and a quiet outro; chords follow i-iv-V-i of a minor key.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

# i - iv - V - i in A minor, as semitones above A (V is major: it carries G#).
_PROGRESSION = ((0, 3, 7), (5, 8, 12), (7, 11, 14), (0, 3, 7))


def _tone(freq: float, n: int, sr: int, decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    return np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)


def make_track(
    path: Path,
    bpm: float = 120.0,
    bars: int = 40,
    intro_bars: int = 8,
    outro_bars: int = 8,
    root_hz: float = 220.0,
    sr: int = 44100,
    lead_in_s: float = 0.0,
) -> Path:
    beat = 60.0 / bpm
    total = lead_in_s + bars * 4 * beat + 1.0
    out = np.zeros(int(total * sr))
    rng = np.random.default_rng(7)
    beat_n = int(beat * sr)
    for b in range(bars * 4):
        start = int((lead_in_s + b * beat) * sr)
        bar, pos = divmod(b, 4)
        full = intro_bars <= bar < bars - outro_bars
        hat = rng.standard_normal(int(0.03 * sr)) * np.exp(
            -np.arange(int(0.03 * sr)) / (0.008 * sr)
        )
        out[start : start + len(hat)] += 0.08 * hat
        kick = _tone(55.0, int(0.25 * sr), sr, 0.06) * (0.9 if full else 0.25)
        out[start : start + len(kick)] += kick
        if full:
            chord = _PROGRESSION[bar % 4]
            if pos == 0:
                n = 4 * beat_n
                seg = sum(_tone(root_hz * 2 ** (s / 12), n, sr, 1.5) for s in chord) * 0.12
                seg += _tone(root_hz / 2 * 2 ** (chord[0] / 12), n, sr, 0.8) * 0.35
                out[start : start + n] += seg[: len(out) - start]
    out /= np.abs(out).max() * 1.1
    stereo = np.stack([out, out], axis=1).astype(np.float32)
    soundfile.write(str(path), stereo, sr, subtype="PCM_16")
    return path
