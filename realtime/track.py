"""Loading a track for a deck: path checks, decoding, resampling, padding, tempo.

Runs in a worker process, never in the audio callback. The result holds everything
the callback reads, laid out so that reading never allocates or branches on edges.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from realtime.bpm_analysis import estimate_bpm

# Silence before and after the audio so interpolation taps, WSOLA search windows
# and a whole block at the fastest rate never index outside the array.
PAD = 16384
# Decimation of the mono copy used for WSOLA's coarse similarity search.
DECIMATION = 4
MIN_BPM = 40.0
MAX_BPM = 250.0


class TrackError(ValueError):
    """A track cannot be loaded; the message is safe to send back to the caller."""


@dataclass
class Track:
    name: str
    sample_rate: int
    frames: int
    audio: np.ndarray  # (PAD + frames + PAD, 2) float32, C-contiguous
    mono_dec: np.ndarray  # mean of channels, decimated by DECIMATION, over the padded audio
    bpm: float
    bpm_source: str  # "given", "structure" (the JSON beside the track) or "analysed"

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def resolve_music_path(music_dir: Path, relative: str) -> Path:
    """The file ``relative`` names under ``music_dir``; refuses anything outside it.

    Symlinks are resolved first, so a link pointing out of the music folder is refused too.
    """
    if not relative or "\x00" in relative:
        raise TrackError("path is empty or contains a NUL byte")
    candidate = Path(relative)
    if candidate.is_absolute():
        raise TrackError(f"path must be relative to the music folder, got absolute {relative!r}")
    root = music_dir.resolve()
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise TrackError(f"path {relative!r} is outside the music folder; refused")
    if not resolved.is_file():
        raise TrackError(f"no such file in the music folder: {relative!r}")
    return resolved


def decode(path: Path, sample_rate: int) -> np.ndarray:
    """(frames, 2) float32 at ``sample_rate``; mono is doubled, extra channels dropped."""
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise TrackError(f"cannot decode {path.name}: {exc}") from exc
    if data.shape[0] == 0:
        raise TrackError(f"{path.name} contains no audio")
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    elif data.shape[1] > 2:
        data = data[:, :2]
    if file_rate != sample_rate:
        data = resample(data, file_rate, sample_rate)
    return np.ascontiguousarray(data, dtype=np.float32)


def resample(data: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling of a whole track by spectrum truncation or zero-padding.

    Hand-written because the Pi requirement list has no resampler (scipy/soxr); it runs
    once per load, off the audio thread.
    """
    n_out = int(round(data.shape[0] * to_rate / from_rate))
    spec = np.fft.rfft(data, axis=0)
    bins_out = n_out // 2 + 1
    if bins_out <= spec.shape[0]:
        spec = spec[:bins_out]
    else:
        spec = np.vstack([spec, np.zeros((bins_out - spec.shape[0], spec.shape[1]), spec.dtype)])
    out = np.fft.irfft(spec, n=n_out, axis=0) * (n_out / data.shape[0])
    return out.astype(np.float32)


def structure_bpm(path: Path) -> float | None:
    """The tempo in the all-in-one structure JSON beside ``path`` (same name, ``.json``).

    ``cratebot analyze --struct-out DIR`` writes one per track; its tempo comes from the
    full analyser (tempogram, metrical-level decision, beat tracking), which is more
    accurate than the numpy estimate the Pi can afford, so it is preferred when present.
    A missing, unreadable or tempo-less file is ignored (the track is analysed here).
    """
    candidate = path.with_suffix(".json")
    try:
        data = json.loads(candidate.read_text(encoding="utf-8"))
        bpm = float(data["bpm"])
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
        return None
    return bpm if math.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM else None


def build_track(
    name: str,
    audio: np.ndarray,
    sample_rate: int,
    bpm: float | None = None,
    bpm_source: str = "given",
) -> Track:
    """Pad, derive the search copy and settle the tempo of decoded ``audio``."""
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise TrackError(f"expected (frames, 2) audio, got shape {audio.shape}")
    frames = audio.shape[0]
    padded = np.zeros((PAD + frames + PAD, 2), dtype=np.float32)
    padded[PAD : PAD + frames] = audio
    mono = padded.mean(axis=1)
    usable = len(mono) // DECIMATION * DECIMATION
    mono_dec = np.ascontiguousarray(mono[:usable].reshape(-1, DECIMATION).mean(axis=1))
    if bpm is None:
        try:
            bpm = estimate_bpm(mono[PAD : PAD + frames], sample_rate)
        except ValueError as exc:
            raise TrackError(f"{name}: {exc}") from exc
        source = "analysed"
    else:
        source = bpm_source
    if not (math.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
        raise TrackError(f"{name}: BPM {bpm:g} outside {MIN_BPM:g}..{MAX_BPM:g}")
    return Track(name, sample_rate, frames, padded, mono_dec.astype(np.float32), float(bpm), source)


def load_track(music_dir: str, relative: str, sample_rate: int, bpm: float | None = None) -> Track:
    """Everything a ``/load`` needs; picklable arguments so it can run in a worker process."""
    path = resolve_music_path(Path(music_dir), relative)
    if bpm is None:
        bpm = structure_bpm(path)
        if bpm is not None:
            return build_track(relative, decode(path, sample_rate), sample_rate, bpm, "structure")
    return build_track(relative, decode(path, sample_rate), sample_rate, bpm)
