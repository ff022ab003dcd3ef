"""Deterministic synthetic "songs" for tests that must not depend on any music collection.

Each song is a random melody and bass line over a drum pattern at its own tempo:
rich enough in spectral peaks to fingerprint, and different for every seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def _tone(freq: float, length: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(length) / SR
    env = np.exp(-t * rng.uniform(2, 8)) * np.minimum(1, t * 200)
    out = np.zeros(length)
    for h, amp in enumerate((1.0, 0.5, 0.3, 0.15), start=1):
        out += amp * np.sin(2 * np.pi * freq * h * t + rng.uniform(0, 6.28))
    return out * env


def song(seed: int, seconds: float = 60.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = np.zeros(n + SR)
    beat = 60.0 / rng.uniform(100, 140)
    step = beat / 2
    scale = 110 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10]) / 12 + rng.integers(0, 12) / 12)
    t = 0.0
    while t < seconds:
        i = int(t * SR)
        length = int(step * SR * rng.choice([1, 1, 2, 3]))
        note = scale[rng.integers(0, 7)] * 2 ** rng.integers(1, 4)
        y[i : i + length] += 0.3 * _tone(note, length, rng)[: len(y) - i]
        if rng.random() < 0.5:
            chord = scale[rng.integers(0, 7)] * 2 ** rng.integers(2, 5)
            y[i : i + length] += 0.15 * _tone(chord, length, rng)[: len(y) - i]
        if int(round(t / step)) % 2 == 0:
            bass = scale[rng.integers(0, 7)] / 2
            y[i : i + length] += 0.4 * _tone(bass, length, rng)[: len(y) - i]
            kick = np.sin(2 * np.pi * 55 * np.arange(2000) / SR) * np.exp(-np.arange(2000) / 400)
            y[i : i + 2000] += 0.5 * kick[: len(y) - i]
        else:
            hat = rng.normal(0, 1, 1500) * np.exp(-np.arange(1500) / 200)
            y[i : i + 1500] += 0.1 * hat[: len(y) - i]
        t += step
    y = y[:n]
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


def write_songs(
    folder: Path,
    count: int,
    seconds: float = 60.0,
    first_seed: int = 100,
    names: list[tuple[str, str]] | None = None,
) -> list[Path]:
    """``Artist--Title.flac`` files for ``count`` songs."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        artist, title = names[k] if names else (f"Synth Artist {k}", f"Song {k}")
        path = folder / f"{artist.replace(' ', '_')}--{title.replace(' ', '_')}.flac"
        sf.write(path, song(first_seed + k, seconds), SR)
        paths.append(path)
    return paths
