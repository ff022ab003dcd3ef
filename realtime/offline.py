"""Runs the engine without a sound card, writing what it would play to a WAV file.

The same :meth:`Engine.process` is called block by block, paced to real time, or
``speed`` times faster in engine time (``--offline-speed``), which is how tests and
CI drive the server. The file is written after each block returns (as a sound card
would consume it) and closed, with a valid header, on :meth:`stop`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from realtime.engine import Engine


class OfflineRenderer:
    def __init__(self, engine: Engine, path: Path, speed: float = 1.0):
        if not (speed > 0):
            raise ValueError(f"--offline-speed must be > 0, got {speed}")
        self.engine = engine
        self.path = path
        self.speed = speed
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="offline-render", daemon=True)
        # Opened here so a bad path fails at start-up with a clear message.
        self._file = sf.SoundFile(
            str(path), mode="w", samplerate=engine.sample_rate, channels=2, subtype="FLOAT"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if not self._file.closed:
            self._file.close()

    def _run(self) -> None:
        engine = self.engine
        block = np.zeros((engine.block_size, 2), dtype=np.float32)
        seconds_per_block = engine.block_size / engine.sample_rate / self.speed
        flush_every = max(1, int(engine.sample_rate / engine.block_size))
        start = time.monotonic()
        n = 0
        try:
            while not self._stop.is_set():
                engine.process(block)
                self._file.write(block)
                n += 1
                if n % flush_every == 0:
                    self._file.flush()
                delay = start + n * seconds_per_block - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
        except BaseException as exc:  # surfaced by the CLI, which then exits non-zero
            self.error = exc
            self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
