"""Rubber Band Library in real-time mode, through the ``pylibrb`` binding (optional).

``pylibrb`` (GPLv2) wraps Rubber Band's ``RubberBandStretcher`` including
``OptionProcessRealTime``, which accepts a changing time ratio while streaming. It is
not in the default Pi requirements (no aarch64 wheel on PyPI; it builds from source),
so the server checks for it at start and refuses the ``rubberband`` method without it.

Caveat: ``pylibrb.retrieve`` returns a new numpy array each call, so this method
allocates one block-sized array per block inside the callback; the others do not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from realtime.stretch.base import PAD, Stretcher, advance
from realtime.track import Track

_CHUNK = 512


def _import_pylibrb() -> Any:
    import pylibrb

    return pylibrb


def rubberband_status() -> tuple[bool, str]:
    """(available, human-readable reason) for the start-up banner and ``/method``."""
    try:
        pylibrb = _import_pylibrb()
    except ImportError:
        return False, "rubberband method unavailable: the pylibrb binding is not installed"
    version = getattr(pylibrb, "__version__", "?")
    return True, f"rubberband method available (pylibrb {version}, Rubber Band real-time mode)"


class RubberBandStretcher(Stretcher):
    name = "rubberband"

    def __init__(self, max_block: int, sample_rate: int):
        super().__init__(max_block)
        pylibrb = _import_pylibrb()
        opt = pylibrb.Option
        options = (
            opt.PROCESS_REALTIME | opt.ENGINE_FASTER | opt.THREADING_NEVER | opt.TRANSIENTS_CRISP
        )
        self._rb = pylibrb.RubberBandStretcher(sample_rate, 2, options, 1.0, 1.0)
        self._rb.set_max_process_size(_CHUNK)
        self._in = np.zeros((2, _CHUNK), dtype=np.float32)
        self._pad = np.zeros((2, _CHUNK), dtype=np.float32)
        self._feed = 0  # padded index of the next input sample
        self._drop = 0  # output samples still owed to the engine's start delay
        self._ratio = 1.0

    def reset(self, track: Track, position: float) -> None:
        self._rb.reset()
        self._rb.time_ratio = self._ratio
        pad = self._rb.get_preferred_start_pad()
        while pad > 0:
            n = min(pad, _CHUNK)
            self._rb.process(self._pad if n == _CHUNK else np.zeros((2, n), np.float32))
            pad -= n
        self._drop = self._rb.get_start_delay()
        self._feed = int(round(position)) + PAD

    def render(
        self, track: Track, position: float, out: np.ndarray, rate0: float, rate1: float
    ) -> float:
        f = out.shape[0]
        ratio = 1.0 / (0.5 * (rate0 + rate1))
        if ratio != self._ratio:
            self._ratio = ratio
            self._rb.time_ratio = ratio
        audio = track.audio
        # Bounded: each chunk yields about _CHUNK * ratio output samples.
        for _ in range(64):
            if self._rb.available() >= f + self._drop:
                break
            if self._feed + _CHUNK <= audio.shape[0]:
                np.copyto(self._in, audio[self._feed : self._feed + _CHUNK].T)
                self._rb.process(self._in)
            else:  # past the padded end: the deck stops there anyway
                self._rb.process(self._pad)
            self._feed += _CHUNK
        if self._drop:
            self._rb.retrieve(self._drop)
            self._drop = 0
        got = self._rb.retrieve(f)
        n = got.shape[1]
        out[:n] = got.T
        if n < f:
            out[n:] = 0.0
        return advance(position, f, rate0, rate1)
