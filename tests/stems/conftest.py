"""Fixtures for the stems tests: a local demucs model repo and short test signals."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.stems.tiny_models import SumToMix, save_package, tiny_htdemucs, write_bag

RATE = 44100


@pytest.fixture(scope="session")
def model_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tinyht`` (HTDemucs, random weights), ``summix`` and the bag ``tinybag`` of ``tinyht``."""
    repo = tmp_path_factory.mktemp("demucs_repo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save_package(tiny_htdemucs(), repo / "tinyht.th")
        save_package(SumToMix(), repo / "summix.th")
    write_bag(repo, "tinybag", ["tinyht"])
    return repo


def music_like(seconds: float, seed: int = 0, peak: float = 0.5) -> np.ndarray:
    """Stereo test signal with tones, a bass line and noise hits, ``(frames, 2)`` float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    bass = np.sin(2 * np.pi * 55 * t * (1 + (t // 2) % 2 * 0.5))
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) / 3
    hits = np.zeros(n)
    hits[:: RATE // 2] = 1.0
    kernel = np.exp(-np.arange(2000) / 300) * rng.standard_normal(2000)
    drums = np.convolve(hits, kernel)[:n]
    left = 0.5 * bass + 0.3 * chord + 0.4 * drums
    right = 0.4 * bass + 0.35 * np.roll(chord, 100) + 0.4 * drums
    audio = np.stack([left, right], axis=1)
    return (audio / np.abs(audio).max() * peak).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray) -> Path:
    sf.write(path, audio, RATE, subtype="PCM_16")
    return path


@pytest.fixture
def song30(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "song30.wav", music_like(30.0))


@pytest.fixture
def song6(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "song6.wav", music_like(6.0, seed=1))
