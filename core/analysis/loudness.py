"""Integrated loudness (ITU-R BS.1770-4) measured block by block.

pyloudnorm needs the whole signal in one array; a 6-hour mix would not fit the
memory budget, so the same K-weighting filters (taken from pyloudnorm) run here
with their state carried across blocks, and only one mean square per 100 ms step
is kept. The gating then follows BS.1770-4 exactly as pyloudnorm does.
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
from scipy.signal import lfilter


class LoudnessMeter:
    """Feed ``(frames, channels)`` blocks in order, then read :meth:`integrated`."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        meter = pyloudnorm.Meter(sample_rate)
        # The K-weighting stages, in the order pyloudnorm applies them.
        self._stages = [
            (np.asarray(f.b, float), np.asarray(f.a, float)) for f in meter._filters.values()
        ]
        # Zero initial state, as pyloudnorm's whole-array filtering has.
        self._zi = [np.zeros((channels, len(a) - 1)) for _b, a in self._stages]
        self._step = int(round(sample_rate * 0.1))
        self._pending = np.zeros((0, channels))
        self._steps: list[float] = []  # channel-summed mean square per 100 ms step

    def add(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {x.shape[1]}")
        y = x.T
        for i, (b, a) in enumerate(self._stages):
            y, self._zi[i] = lfilter(b, a, y, axis=1, zi=self._zi[i])
        data = np.concatenate([self._pending, y.T], axis=0)
        whole = len(data) // self._step
        if whole:
            chunk = data[: whole * self._step].reshape(whole, self._step, self.channels)
            self._steps.extend((chunk**2).sum(axis=(1, 2)).tolist())
        self._pending = data[whole * self._step :]

    def integrated(self) -> float | None:
        """Gated loudness in LUFS, or None when the signal is shorter than 400 ms or silent."""
        steps = np.asarray(self._steps)
        if len(steps) < 4:
            return None
        # 400 ms gating blocks with 75 % overlap = four consecutive 100 ms steps.
        window = np.convolve(steps, np.ones(4), mode="valid") / (4 * self._step)
        with np.errstate(divide="ignore"):
            block_lufs = -0.691 + 10.0 * np.log10(window)
        absolute = window[block_lufs >= -70.0]
        if absolute.size == 0:
            return None
        relative_gate = -0.691 + 10.0 * math.log10(absolute.mean()) - 10.0
        gated = window[(block_lufs >= -70.0) & (block_lufs >= relative_gate)]
        if gated.size == 0:
            return None
        return float(-0.691 + 10.0 * math.log10(gated.mean()))
