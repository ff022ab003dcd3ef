"""Small real audio files made on the fly for tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from core.audio.ffmpeg import ffmpeg_exe


def tone(
    path: Path, seconds: float = 2.0, freq: float = 440.0, sr: int = 44100, channels: int = 2
) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    mono = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    sf.write(path, np.stack([mono] * channels, axis=1), sr)
    return path


def encode(src: Path, dest: Path, *extra: str) -> Path:
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(src),
            *extra,
            str(dest),
        ],
        check=True,
        timeout=120,
    )
    return dest
