"""Small Demucs models for tests, saved in demucs' own repo format.

``save_package`` writes what ``demucs.states.serialize_model`` produces (class,
init args, half-precision state) with ``demucs.states.save_with_checksum``, so the
file is ``NAME-CHECKSUM.th`` and demucs' ``LocalRepo`` verifies the checksum on
load. ``serialize_model`` itself also stores the training config, which needs
omegaconf (a training-only dependency) and which loading ignores.
"""

from __future__ import annotations

from pathlib import Path

import torch
from demucs.htdemucs import HTDemucs
from demucs.states import capture_init, get_state, save_with_checksum
from torch import nn

SOURCES = ["drums", "bass", "other", "vocals"]


def tiny_htdemucs(seed: int = 0, segment: float = 2.0) -> HTDemucs:
    """An HTDemucs with the real architecture, shrunk (1000x fewer weights) to run fast."""
    torch.manual_seed(seed)
    return HTDemucs(
        SOURCES,
        samplerate=44100,
        segment=segment,
        channels=4,
        depth=4,
        t_layers=1,
        t_heads=2,
        t_hidden_scale=1.0,
        nfft=1024,
        dconv_comp=2,
        dconv_depth=1,
    ).eval()


class SumToMix(nn.Module):
    """A model whose stems add up exactly to its input: three filtered parts and the rest."""

    @capture_init
    def __init__(
        self,
        sources: list[str] = SOURCES,
        audio_channels: int = 2,
        samplerate: int = 44100,
        segment: float = 2.0,
    ) -> None:
        super().__init__()
        self.sources = list(sources)
        self.audio_channels = audio_channels
        self.samplerate = samplerate
        self.segment = segment
        parts = len(self.sources) - 1
        self.split = nn.Conv1d(audio_channels, audio_channels * parts, kernel_size=33, padding=16)
        with torch.no_grad():
            self.split.weight.mul_(0.3)

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        batch, channels, length = mix.shape
        parts = self.split(mix).view(batch, len(self.sources) - 1, channels, length)
        rest = mix - parts.sum(dim=1)
        return torch.cat([parts, rest[:, None]], dim=1)


def save_package(model: nn.Module, path: Path) -> Path:
    """Save like demucs' training does; returns the ``NAME-CHECKSUM.th`` file written."""
    args, kwargs = model._init_args_kwargs
    package = {
        "klass": model.__class__,
        "args": args,
        "kwargs": kwargs,
        "state": get_state(model, None, half=True),
    }
    save_with_checksum(package, path)
    return next(path.parent.glob(f"{path.stem}-*.th"))


def write_bag(
    repo: Path, name: str, signatures: list[str], weights: list[list[float]] | None = None
) -> Path:
    lines = [f"models: {signatures!r}"]
    if weights is not None:
        lines.append(f"weights: {weights!r}")
    path = repo / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
