"""Stream any ffmpeg-readable file as fixed-size float32 PCM blocks in constant memory.

ffmpeg resamples and mixes down, and its output is read from a pipe one block at
a time, so a 6-hour file costs the same memory as a 6-second one.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import numpy as np

from core.audio.ffmpeg import ffmpeg_exe
from core.errors import BadInput


def _command(
    path: Path, sample_rate: int, channels: int, start_s: float | None, duration_s: float | None
) -> list[str]:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    if start_s:
        cmd += ["-ss", f"{start_s:.6f}"]
    cmd += ["-i", str(path)]
    if duration_s is not None:
        cmd += ["-t", f"{duration_s:.6f}"]
    cmd += [
        "-vn",
        "-sn",
        "-dn",
        "-map",
        "0:a:0",
        "-ac",
        str(channels),
        "-ar",
        str(sample_rate),
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "pipe:1",
    ]
    return cmd


def decode_blocks(
    path: str | Path,
    sample_rate: int = 44100,
    channels: int = 2,
    block_frames: int = 65536,
    start_s: float | None = None,
    duration_s: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield ``(frames, channels)`` float32 arrays of ``block_frames`` rows (the last may be shorter).

    Each yielded array is freshly allocated, so callers may keep it.
    """
    path = Path(path)
    frame_bytes = 4 * channels
    want = block_frames * frame_bytes
    proc = subprocess.Popen(
        _command(path, sample_rate, channels, start_s, duration_s),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None and proc.stderr is not None
    # bufsize=0 makes stdout a raw FileIO, which has readinto (typeshed only says IO).
    stdout = cast(io.RawIOBase, proc.stdout)
    produced = 0
    try:
        while True:
            buf = bytearray(want)
            view = memoryview(buf)
            got = 0
            while got < want:
                n = stdout.readinto(view[got:])
                if not n:
                    break
                got += n
            usable = got - got % frame_bytes
            if usable:
                produced += usable
                yield np.frombuffer(buf, dtype=np.float32, count=usable // 4).reshape(-1, channels)
            if got < want:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        code = proc.wait()
    if code != 0 and produced == 0:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {code}"
        raise BadInput(f"{path.name}: cannot decode audio ({detail})")


def decode_array(
    path: str | Path,
    sample_rate: int = 44100,
    channels: int = 2,
    start_s: float | None = None,
    duration_s: float | None = None,
) -> np.ndarray:
    """Decode a (short) stretch of a file into one ``(frames, channels)`` array."""
    blocks = list(decode_blocks(path, sample_rate, channels, 1 << 18, start_s, duration_s))
    if not blocks:
        return np.zeros((0, channels), dtype=np.float32)
    return np.concatenate(blocks, axis=0)
