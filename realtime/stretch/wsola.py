"""WSOLA time-stretching: tempo changes, pitch stays. Streaming, state kept between blocks.

Waveform-similarity overlap-add (Verhelst & Roelands 1993): Hann frames of ``N``
samples are laid down every ``N/2`` output samples. Each frame is read near its
nominal source position, shifted within +-``tolerance`` samples to the offset that
best continues the previously laid frame, so the overlap adds in phase.

Per deck one object lives for the whole session (Crowdstream recreated its
stretchers every block and so lost this history). Hand-written because no
maintained real-time WSOLA exists for numpy; the similarity search is a coarse pass
on a 4x-decimated mono copy (``np.correlate``) refined at full rate on both channels.
"""

from __future__ import annotations

import numpy as np

from realtime.stretch.base import PAD, Stretcher, advance
from realtime.track import DECIMATION, Track


class WsolaStretcher(Stretcher):
    name = "wsola"

    def __init__(self, max_block: int, frame: int = 1024, tolerance: int = 256):
        super().__init__(max_block)
        if frame % 2 or frame % DECIMATION or tolerance % DECIMATION:
            raise ValueError("frame and tolerance must be multiples of the decimation (4)")
        self.frame = frame
        self.hop = frame // 2
        self.tolerance = tolerance
        n = np.arange(frame)
        # Periodic Hann: copies spaced by half a frame sum to exactly one.
        self._window = (0.5 - 0.5 * np.cos(2 * np.pi * n / frame)).astype(np.float32)[:, None]
        self._acc = np.zeros((frame, 2), dtype=np.float32)
        self._windowed = np.empty((frame, 2), dtype=np.float32)
        self._fifo = np.zeros((max_block + frame, 2), dtype=np.float32)
        self._fifo_cap = max_block + frame
        self._fifo_read = 0
        self._fifo_fill = 0
        self._next_nominal = 0.0  # source position (padded coords) of the next frame
        self._prev_start = -1  # padded start index of the last laid frame
        n_region = (2 * tolerance + frame) // DECIMATION
        self._coarse = np.empty(n_region, dtype=np.float64)
        self._energy = np.empty(n_region, dtype=np.float64)
        self._sq = np.zeros(n_region + 1, dtype=np.float64)

    def reset(self, track: Track, position: float) -> None:
        self._acc.fill(0.0)
        self._fifo_read = 0
        self._fifo_fill = 0
        self._prev_start = -1
        # Lay a frame half a hop early and throw its rising half away, so the first
        # output sample is already at full level instead of fading in.
        self._next_nominal = position + PAD - self.hop
        self._step(track, 1.0)
        self._fifo_fill = 0

    def render(
        self, track: Track, position: float, out: np.ndarray, rate0: float, rate1: float
    ) -> float:
        f = out.shape[0]
        produced = 0
        while self._fifo_fill < f:
            # Rate at this point of the block, for tempo ramps inside a block.
            frac = min(1.0, (produced + self._fifo_fill) / f)
            self._step(track, rate0 + (rate1 - rate0) * frac)
            produced += self.hop
        self._read_fifo(out)
        return advance(position, f, rate0, rate1)

    def _step(self, track: Track, rate: float) -> None:
        frame, hop = self.frame, self.hop
        audio = track.audio
        nominal = int(round(self._next_nominal))
        limit = audio.shape[0] - 2 * frame - self.tolerance
        nominal = min(max(nominal, self.tolerance), limit)
        start = nominal if self._prev_start < 0 else self._best_start(track, nominal)
        np.multiply(audio[start : start + frame], self._window, out=self._windowed)
        self._acc += self._windowed
        self._write_fifo(self._acc[:hop])
        self._acc[: frame - hop] = self._acc[hop:]
        self._acc[frame - hop :] = 0.0
        self._prev_start = start
        self._next_nominal += hop * rate

    def _best_start(self, track: Track, nominal: int) -> int:
        """Start near ``nominal`` whose frame best continues the previous frame.

        Similarity is the correlation divided by the candidate's RMS, so a louder
        candidate does not win over the one that is in phase.
        """
        frame, tol, d = self.frame, self.tolerance, DECIMATION
        nd = frame // d
        natural = self._prev_start + self.hop
        mono = track.mono_dec
        ref = mono[natural // d : natural // d + nd]
        lo = (nominal - tol) // d
        region = mono[lo : lo + (2 * tol) // d + nd]
        n_cand = len(region) - nd + 1
        coarse = self._coarse[:n_cand]
        coarse[:] = np.correlate(region, ref, mode="valid")
        # Energy of every candidate window from a running sum of squares.
        sq = self._sq[: len(region) + 1]
        np.multiply(region, region, out=sq[1:])
        np.cumsum(sq[1:], out=sq[1:])
        energy = self._energy[:n_cand]
        np.subtract(sq[nd:], sq[:n_cand], out=energy)
        np.maximum(energy, 1e-9, out=energy)
        np.sqrt(energy, out=energy)
        coarse /= energy
        best = (lo + int(np.argmax(coarse))) * d
        ref_full = track.audio[natural : natural + frame].ravel()
        audio = track.audio
        best_score = -np.inf
        chosen = best
        # The coarse pass is exact to within one decimation step; settle it at full rate.
        for cand in range(max(best - d + 1, nominal - tol), min(best + d, nominal + tol + 1)):
            window = audio[cand : cand + frame].ravel()
            score = float(np.dot(window, ref_full)) / (float(np.dot(window, window)) + 1e-9) ** 0.5
            if score > best_score:
                best_score, chosen = score, cand
        return chosen

    def _write_fifo(self, block: np.ndarray) -> None:
        n = block.shape[0]
        cap = self._fifo_cap
        w = (self._fifo_read + self._fifo_fill) % cap
        first = min(n, cap - w)
        self._fifo[w : w + first] = block[:first]
        if first < n:
            self._fifo[: n - first] = block[first:]
        self._fifo_fill += n

    def _read_fifo(self, out: np.ndarray) -> None:
        n = out.shape[0]
        cap = self._fifo_cap
        r = self._fifo_read
        first = min(n, cap - r)
        out[:first] = self._fifo[r : r + first]
        if first < n:
            out[first:] = self._fifo[: n - first]
        self._fifo_read = (r + n) % cap
        self._fifo_fill -= n
