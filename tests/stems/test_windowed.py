"""The streamed separation equals demucs' whole-file ``apply_model``."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from demucs.apply import BagOfModels, apply_model

from core.audio import decode_array
from core.stems.models import load_model
from core.stems.options import StemsOptions
from core.stems.pipeline import run_stems
from core.stems.windowed import SeparationSettings, separate_stream
from tests.stems.tiny_models import SOURCES, SumToMix


def _whole_file(model, audio: np.ndarray, shifts: int, overlap: float, seed: int) -> np.ndarray:
    """What demucs' separate does: normalise by the track, one apply_model over everything."""
    wav = torch.from_numpy(np.ascontiguousarray(audio.T))
    ref = wav.mean(0)
    mean, std = float(ref.mean()), float(ref.std()) + 1e-8
    random.seed(seed)
    out = apply_model(
        model, ((wav - mean) / std)[None], shifts=shifts, split=True, overlap=overlap
    )[0]
    return (out * std + mean / len(model.sources)).numpy()


def _streamed(
    model, audio: np.ndarray, shifts: int, overlap: float, seed: int, block: int = 7000
) -> tuple[np.ndarray, int]:
    ref = audio.astype(np.float64).mean(axis=1)
    mean, std = float(ref.mean()), float(ref.std(ddof=1)) + 1e-8
    blocks = (audio[i : i + block] for i in range(0, len(audio), block))
    parts = list(
        separate_stream(
            model,
            blocks,
            len(audio),
            mean=mean,
            std=std,
            settings=SeparationSettings(shifts, overlap, seed=seed),
        )
    )
    return np.concatenate(parts, axis=-1), len(parts)


def _correlations(a: np.ndarray, b: np.ndarray) -> list[float]:
    return [float(np.corrcoef(a[k].ravel(), b[k].ravel())[0, 1]) for k in range(len(a))]


def test_bag_with_shifts_matches_apply_model_exactly() -> None:
    """Two models, weighted, two random shifts, 75 % overlap: every demucs detail at once.

    These models draw no random numbers inside forward (HTDemucs' transformer
    does), so demucs' own shift draws can be reproduced from the same seed and the
    outputs compared sample by sample.
    """
    torch.manual_seed(1)
    members = [SumToMix(segment=3.0) for _ in range(2)]
    bag = BagOfModels(members, weights=[[1, 0, 0.5, 1], [0, 1, 0.5, 1]]).eval()
    audio = (np.random.default_rng(0).standard_normal((44100 * 8 + 17, 2)) * 0.1).astype(np.float32)
    whole = _whole_file(bag, audio, shifts=2, overlap=0.5, seed=11)
    streamed, pieces = _streamed(bag, audio, shifts=2, overlap=0.5, seed=11)
    assert pieces > 3  # really emitted in several pieces
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-6)


def test_short_input_shorter_than_one_segment(model_repo: Path) -> None:
    model = load_model("tinyht", model_repo).model
    audio = (np.random.default_rng(2).standard_normal((30000, 2)) * 0.1).astype(np.float32)
    whole = _whole_file(model, audio, shifts=1, overlap=0.25, seed=5)
    streamed, _ = _streamed(model, audio, shifts=1, overlap=0.25, seed=5)
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


@pytest.mark.slow
def test_pipeline_on_30s_matches_whole_file(
    model_repo: Path, song30: Path, settings, tmp_path: Path
) -> None:
    """The full command path (decode twice, window, scratch files, 24-bit WAV) vs one call."""
    opts = StemsOptions.from_params(
        {"source": str(song30), "model": "tinyht", "model_repo": str(model_repo), "format": "wav"}
    )
    result = run_stems(opts, settings, tmp_path / "out", tmp_path / "scratch", seed=9)
    assert result.manifest["files"][0]["gain_db"] == 0.0  # nothing was rescaled
    model = load_model("tinyht", model_repo).model
    audio = decode_array(song30)
    whole = _whole_file(model, audio, shifts=1, overlap=0.25, seed=9)
    for k, name in enumerate(SOURCES):
        data, rate = sf.read(tmp_path / "out" / f"{name}.wav", dtype="float32")
        assert rate == 44100 and data.shape == (len(audio), 2)
        corr = _correlations(data.T[None], whole[k][None])[0]
        assert corr >= 0.999, (name, corr)
        assert np.abs(data.T - whole[k]).max() < 1e-3
