"""Test signals written to a music folder, and measurements on rendered output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def click_track(bpm: float, seconds: float, sr: int = SR) -> np.ndarray:
    """Stereo 2 kHz clicks (5 ms, decaying) on every beat, starting at sample 0."""
    x = np.zeros(int(seconds * sr), dtype=np.float32)
    t = np.arange(int(0.005 * sr)) / sr
    burst = (0.8 * np.sin(2 * np.pi * 2000 * t) * np.exp(-t * 600)).astype(np.float32)
    k = 0
    while (start := int(round(k * 60.0 / bpm * sr))) + len(burst) <= len(x):
        x[start : start + len(burst)] += burst
        k += 1
    return np.stack([x, x], axis=1)


def tone(freq: float, seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x, x], axis=1)


def one_sided_impulse(channel: int, seconds: float = 2.0, sr: int = SR) -> np.ndarray:
    """Silence with a single full-scale sample at sample 0 in one channel only."""
    x = np.zeros((int(seconds * sr), 2), dtype=np.float32)
    x[0, channel] = 0.9
    return x


def write(folder: Path, name: str, audio: np.ndarray, sr: int = SR) -> str:
    sf.write(str(folder / name), audio, sr)
    return name


def onset_times(
    y: np.ndarray, sr: int = SR, threshold: float = 0.25, gap_s: float = 0.15
) -> np.ndarray:
    """Times (s) where |y| first rises above ``threshold`` x peak after a quiet gap."""
    env = np.abs(y if y.ndim == 1 else y.mean(axis=1))
    above = np.flatnonzero(env > threshold * env.max())
    if len(above) == 0:
        return np.array([])
    keep = np.concatenate([[True], np.diff(above) > gap_s * sr])
    return above[keep] / sr


def tempo_from_onsets(onsets: np.ndarray) -> float:
    """BPM from a least-squares line through onset times (robust to per-click jitter)."""
    k = np.arange(len(onsets))
    slope = np.polyfit(k, onsets, 1)[0]
    return 60.0 / slope


def peak_frequency(y: np.ndarray, sr: int = SR) -> float:
    x = y if y.ndim == 1 else y.mean(axis=1)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=len(x) * 4))
    freqs = np.fft.rfftfreq(len(x) * 4, 1.0 / sr)
    return float(freqs[int(np.argmax(spec))])


def level_db(y: np.ndarray, freq: float, sr: int = SR) -> float:
    """Level (dB re full scale sine amplitude) of the ``freq`` component of ``y``, by
    projecting onto a sine and cosine at that exact frequency."""
    x = (y if y.ndim == 1 else y.mean(axis=1)).astype(np.float64)
    t = np.arange(len(x)) / sr
    w = np.hanning(len(x))
    c = np.sum(x * w * np.cos(2 * np.pi * freq * t))
    s = np.sum(x * w * np.sin(2 * np.pi * freq * t))
    amplitude = 2.0 * np.hypot(c, s) / np.sum(w)
    return float(20.0 * np.log10(amplitude + 1e-12))
