"""Streaming writers: raw float32 scratch files during separation, then FLAC / MP3 / WAV.

Every output is first written as headerless float32 (no size limit, no
rounding, no clipping) while its loudness and peak are measured; only when the
whole file is known is its gain fixed and the final file encoded block by block.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from core.audio.ffmpeg import ffmpeg_exe, ffmpeg_input
from core.stems.formats import FORMATS, MP3_BITRATES  # noqa: F401 (re-exported)
from core.stems.loudness import LoudnessMeter, LoudnessReport

_READ_FRAMES = 1 << 17
_WAV_LIMIT_BYTES = 0xFFFF_FFFF - 1024  # RIFF sizes are 32-bit; beyond this, RF64


class ScratchTrack:
    """Append-only float32 file plus a loudness meter fed with the same samples."""

    def __init__(self, path: Path, rate: int, channels: int) -> None:
        self.path = path
        self.rate = rate
        self.channels = channels
        self.frames = 0
        self._meter = LoudnessMeter(rate, channels)
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype=np.float32)
        if not np.isfinite(block).all():
            # A model can emit NaN/inf on pathological input; never let it reach a file.
            block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
        self._meter.feed(block)
        self._file.write(block.tobytes())
        self.frames += len(block)

    def close(self) -> LoudnessReport:
        self._file.close()
        return self._meter.report()

    def blocks(self, frames: int = _READ_FRAMES) -> Iterator[np.ndarray]:
        with open(self.path, "rb") as handle:
            while True:
                data = np.fromfile(handle, dtype=np.float32, count=frames * self.channels)
                if not data.size:
                    return
                yield data.reshape(-1, self.channels)


@dataclass(frozen=True)
class EncodeSpec:
    fmt: str
    bitrate_kbps: int = 320
    title: str | None = None


def encode(track: ScratchTrack, gain: float, out_path: Path, spec: EncodeSpec) -> int:
    """Write ``track * gain`` to ``out_path`` in ``spec.fmt``; returns the file's size."""
    if spec.fmt == "mp3":
        _encode_mp3(track, gain, out_path, spec)
    elif spec.fmt in {"flac", "wav"}:
        _encode_soundfile(track, gain, out_path, spec)
    else:
        raise ValueError(f"unknown format {spec.fmt!r}")
    return out_path.stat().st_size


def _scaled(track: ScratchTrack, gain: float) -> Iterator[np.ndarray]:
    for block in track.blocks():
        # Gains are chosen so nothing exceeds full scale; the clip only catches
        # rounding at exactly 0 dBFS before integer/MP3 conversion.
        yield np.clip(block * np.float32(gain), -1.0, 1.0)


def _encode_soundfile(track: ScratchTrack, gain: float, out_path: Path, spec: EncodeSpec) -> None:
    if spec.fmt == "flac":
        container = "FLAC"
    else:
        too_big = track.frames * track.channels * 3 > _WAV_LIMIT_BYTES
        container = "RF64" if too_big else "WAV"
    with sf.SoundFile(
        out_path,
        "w",
        samplerate=track.rate,
        channels=track.channels,
        format=container,
        subtype="PCM_24",
    ) as out:
        if spec.title:
            out.title = spec.title
        for block in _scaled(track, gain):
            out.write(block)


def _encode_mp3(track: ScratchTrack, gain: float, out_path: Path, spec: EncodeSpec) -> None:
    if spec.bitrate_kbps not in MP3_BITRATES:
        raise ValueError(f"MP3 bitrate must be one of {MP3_BITRATES}")
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "f32le",
        "-ar",
        str(track.rate),
        "-ac",
        str(track.channels),
        "-i",
        "pipe:0",
        "-c:a",
        "libmp3lame",
        "-b:a",
        f"{spec.bitrate_kbps}k",
    ]
    if spec.title:
        cmd += ["-metadata", f"title={spec.title}"]
    cmd.append(ffmpeg_input(out_path))
    # stderr goes to a file: a pipe nobody reads could fill and stall the encoder.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        )
        assert proc.stdin is not None
        try:
            for block in _scaled(track, gain):
                proc.stdin.write(block.astype("<f4", copy=False).tobytes())
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace").strip() or f"exit code {code}"
            raise RuntimeError(f"ffmpeg could not encode {out_path.name}: {detail}")
