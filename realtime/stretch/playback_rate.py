"""Tempo by resampling: reads the track faster or slower, so the pitch moves with it.

Four-point Catmull-Rom interpolation, vectorised over the block into preallocated
buffers. Written by hand because the rate ramps per sample inside a block and the
Pi requirement list has no resampling library.
"""

from __future__ import annotations

import numpy as np

from realtime.stretch.base import PAD, Stretcher, advance
from realtime.track import Track


class PlaybackRateStretcher(Stretcher):
    name = "playback_rate"

    def __init__(self, max_block: int):
        super().__init__(max_block)
        n = max_block
        self._i = np.arange(n, dtype=np.float64)
        self._tri = self._i * (self._i - 1.0) / 2.0  # sum of j for j < i
        self._pos = np.empty(n, dtype=np.float64)
        self._tmp = np.empty(n, dtype=np.float64)
        self._idx = np.empty(n, dtype=np.int64)
        self._idx_k = np.empty(n, dtype=np.int64)
        self._frac = np.empty((n, 1), dtype=np.float32)
        self._taps = np.empty((4, n, 2), dtype=np.float32)
        self._c = np.empty((4, n, 2), dtype=np.float32)

    def reset(self, track: Track, position: float) -> None:
        return None  # stateless between blocks

    def render(
        self, track: Track, position: float, out: np.ndarray, rate0: float, rate1: float
    ) -> float:
        f = out.shape[0]
        pos, tmp, idx, idx_k = self._pos[:f], self._tmp[:f], self._idx[:f], self._idx_k[:f]
        frac = self._frac[:f]
        np.multiply(self._i[:f], rate0, out=pos)
        if rate1 != rate0:
            np.multiply(self._tri[:f], (rate1 - rate0) / f, out=tmp)
            pos += tmp
        pos += position + PAD
        np.floor(pos, out=tmp)
        np.copyto(idx, tmp, casting="unsafe")
        np.subtract(pos, tmp, out=frac[:, 0], casting="same_kind")
        ym1, y0, y1, y2 = (self._taps[k, :f] for k in range(4))
        for k, tap in zip((-1, 0, 1, 2), (ym1, y0, y1, y2), strict=True):
            np.add(idx, k, out=idx_k)
            np.take(track.audio, idx_k, axis=0, out=tap, mode="clip")
        c1, c2, c3, t = (self._c[k, :f] for k in range(4))
        # Catmull-Rom: ((c3*f + c2)*f + c1)*f + y0
        np.subtract(y1, ym1, out=c1)
        c1 *= 0.5
        np.multiply(y0, -2.5, out=c2)
        np.add(c2, ym1, out=c2)
        np.multiply(y1, 2.0, out=t)
        c2 += t
        np.multiply(y2, 0.5, out=t)
        c2 -= t
        np.subtract(y0, y1, out=c3)
        c3 *= 1.5
        np.subtract(y2, ym1, out=t)
        t *= 0.5
        c3 += t
        np.multiply(c3, frac, out=out)
        out += c2
        out *= frac
        out += c1
        out *= frac
        out += y0
        return advance(position, f, rate0, rate1)
