"""The interface every tempo method implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from realtime.track import PAD, Track

MIN_RATE = 0.25
MAX_RATE = 4.0


def clamp_rate(rate: float) -> float:
    return MIN_RATE if rate < MIN_RATE else MAX_RATE if rate > MAX_RATE else rate


class Stretcher(ABC):
    """Renders a track from a source position at a rate that moves linearly from
    ``rate0`` to ``rate1`` across the block. Positions are in source samples from
    the start of the audio (the padding is hidden); rate 1.1 plays 10 % faster.

    Called only from the audio callback: implementations must not allocate
    audio-sized buffers, lock, log or do I/O there.
    """

    name: str = ""

    def __init__(self, max_block: int):
        self.max_block = max_block

    @abstractmethod
    def reset(self, track: Track, position: float) -> None:
        """Forget history and continue from ``position`` (after load, seek, play, method switch)."""

    @abstractmethod
    def render(
        self, track: Track, position: float, out: np.ndarray, rate0: float, rate1: float
    ) -> float:
        """Write ``len(out)`` frames into ``out`` (frames, 2); return the new position."""


def advance(position: float, frames: int, rate0: float, rate1: float) -> float:
    """Source position after ``frames`` output samples whose rate ramps linearly."""
    return position + rate0 * frames + (rate1 - rate0) * (frames - 1) / 2.0


__all__ = ["MAX_RATE", "MIN_RATE", "PAD", "Stretcher", "advance", "clamp_rate"]
