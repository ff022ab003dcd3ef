"""Harmonic/percussive split of the input mix (librosa), computed window by window.

``librosa.effects.hpss`` wants the whole signal: for an hour that is a 2 x 1025
x 310 000 complex spectrogram (5 GB) plus median-filter copies. Here each
window of ``chunk_s`` seconds is processed with ``margin_hops`` frames of real
audio on either side and only its centre is kept. Windows start on multiples of
the hop, so their STFT frames are the whole-file frames; the margin is wider
than the median filter plus the STFT frame, so the kept samples equal what
``librosa.effects.hpss`` gives on the whole file (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class StreamingHPSS:
    """Feed ``(frames, channels)`` blocks; get ``(harmonic, percussive)`` blocks back in order."""

    def __init__(
        self,
        channels: int,
        *,
        chunk_s: float = 30.0,
        rate: int = 44100,
        n_fft: int = 2048,
        hop_length: int = 512,
        kernel_size: int = 31,
        margin_hops: int = 64,
    ) -> None:
        if margin_hops * hop_length < n_fft + (kernel_size // 2 + 1) * hop_length:
            raise ValueError("margin too small for this kernel and FFT size")
        self.channels = channels
        self.n_fft = n_fft
        self.hop = hop_length
        self.kernel_size = kernel_size
        self.core = max(1, int(chunk_s * rate) // hop_length) * hop_length
        self.margin = margin_hops * hop_length
        self._buffer = np.zeros((0, channels), dtype=np.float32)
        self._base = 0  # frame index of _buffer[0]
        self._next = 0  # first frame not yet emitted

    def feed(self, block: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self._buffer = np.concatenate([self._buffer, np.asarray(block, dtype=np.float32)])
        end = self._base + len(self._buffer)
        while end >= self._next + self.core + self.margin:
            yield self._emit(self._next + self.core)

    def finish(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        end = self._base + len(self._buffer)
        while self._next < end:
            yield self._emit(min(end, self._next + self.core))

    def _emit(self, core_end: int) -> tuple[np.ndarray, np.ndarray]:
        import librosa

        end = self._base + len(self._buffer)
        lo = max(0, self._next - self.margin)
        hi = min(end, core_end + self.margin)
        piece = self._buffer[lo - self._base : hi - self._base].T
        harmonic, percussive = librosa.effects.hpss(
            np.ascontiguousarray(piece),
            kernel_size=self.kernel_size,
            n_fft=self.n_fft,
            hop_length=self.hop,
        )
        a, b = self._next - lo, core_end - lo
        out = (
            np.ascontiguousarray(harmonic[:, a:b].T, dtype=np.float32),
            np.ascontiguousarray(percussive[:, a:b].T, dtype=np.float32),
        )
        self._next = core_end
        keep_from = max(self._base, self._next - self.margin)
        self._buffer = self._buffer[keep_from - self._base :]
        self._base = keep_from
        return out
