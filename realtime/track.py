"""Loading a track for a deck: path checks, decoding, resampling, padding, tempo.

Runs in a worker process, never in the audio callback. The result holds everything
the callback reads, laid out so that reading never allocates or branches on edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from realtime.bpm_analysis import estimate_bpm
from realtime.protocol import MAX_BPM, MIN_BPM

# Silence before and after the audio so interpolation taps, WSOLA search windows
# and a whole block at the fastest rate never index outside the array.
PAD = 16384
# Decimation of the mono copy used for WSOLA's coarse similarity search.
DECIMATION = 4


class TrackError(ValueError):
    """A track cannot be loaded; the message is safe to send back to the caller."""


@dataclass
class Track:
    name: str
    sample_rate: int
    frames: int
    audio: np.ndarray  # (PAD + frames + PAD, 2) float32, C-contiguous
    mono_dec: np.ndarray  # mean of channels, decimated by DECIMATION, over the padded audio
    bpm: float | None  # None: no analysable tempo, the deck plays at rate 1
    bpm_source: str  # "given", "analysed" or "none"
    note: str = ""

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def display_name(music_dir: Path, requested: str) -> str:
    """What replies call a file: the caller's relative path, or for an absolute path the
    part inside the music folder. Replies never show where the music folder is."""
    candidate = Path(requested)
    if not candidate.is_absolute():
        return requested
    try:
        return str(candidate.relative_to(music_dir.resolve()))
    except ValueError:
        try:
            return str(candidate.relative_to(music_dir.absolute()))
        except ValueError:
            return "(an absolute path)"


def resolve_music_path(music_dir: Path, relative: str) -> Path:
    """The file ``relative`` names under ``music_dir``; refuses anything outside it.

    Absolute paths are accepted when they point inside the music folder (Crowdstream's
    controllers send absolute paths). Symlinks are resolved first, so a link pointing
    out of the music folder is refused too. Messages never contain an absolute path.
    """
    if not relative or "\x00" in relative:
        raise TrackError("path is empty or contains a NUL byte")
    candidate = Path(relative)
    root = music_dir.resolve()
    try:
        resolved = (root / candidate).resolve()
    except (OSError, RuntimeError):  # symlink loops, names too long
        raise TrackError("path cannot be resolved; refused") from None
    if not resolved.is_relative_to(root):
        if candidate.is_absolute():
            raise TrackError("absolute path is outside the music folder; refused")
        raise TrackError(f"path {relative!r} is outside the music folder; refused")
    shown = display_name(music_dir, relative)
    try:
        is_file = resolved.is_file()
    except OSError:
        is_file = False
    if not is_file:
        raise TrackError(f"no such file in the music folder: {shown!r}")
    return resolved


def decode(path: Path, sample_rate: int, name: str | None = None) -> np.ndarray:
    """(frames, 2) float32 at ``sample_rate``; mono is doubled, extra channels dropped."""
    shown = name or path.name
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        # str(exc) names the absolute path; error_string is libsndfile's reason alone.
        raise TrackError(f"cannot decode {shown}: {exc.error_string}") from None
    except (RuntimeError, TypeError, ValueError):
        raise TrackError(f"cannot decode {shown}: not a supported audio file") from None
    if data.shape[0] == 0:
        raise TrackError(f"{shown} contains no audio")
    if not np.all(np.isfinite(data)):
        # NaN or inf samples would reach the sound card through the mix.
        np.nan_to_num(data, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
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


def build_track(name: str, audio: np.ndarray, sample_rate: int, bpm: float | None = None) -> Track:
    """Pad, derive the search copy and settle the tempo of decoded ``audio``."""
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise TrackError(f"expected (frames, 2) audio, got shape {audio.shape}")
    frames = audio.shape[0]
    padded = np.zeros((PAD + frames + PAD, 2), dtype=np.float32)
    padded[PAD : PAD + frames] = audio
    mono = padded.mean(axis=1)
    usable = len(mono) // DECIMATION * DECIMATION
    mono_dec = np.ascontiguousarray(mono[:usable].reshape(-1, DECIMATION).mean(axis=1))
    note = ""
    source = "given"
    if bpm is None:
        try:
            bpm = estimate_bpm(mono[PAD : PAD + frames], sample_rate)
            source = "analysed"
        except ValueError as exc:
            # A pad, a drone or silence still has to be playable: at its own speed.
            reason = str(exc).split(";")[0]
            note = (
                f"{reason}: plays at its own speed (rate 1), not synced to the master "
                "tempo; give its BPM when loading to sync it"
            )
            source = "none"
    if bpm is not None and not (math.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
        if source == "given":
            raise TrackError(f"{name}: BPM {bpm:g} outside {MIN_BPM:g}..{MAX_BPM:g}")
        note = (
            f"analysed tempo {bpm:.1f} BPM is outside {MIN_BPM:g}..{MAX_BPM:g}: plays at "
            "its own speed (rate 1); give its BPM when loading to sync it"
        )
        bpm, source = None, "none"
    return Track(
        name, sample_rate, frames, padded, mono_dec.astype(np.float32),
        None if bpm is None else float(bpm), source, note,
    )  # fmt: skip


def load_track(music_dir: str, relative: str, sample_rate: int, bpm: float | None = None) -> Track:
    """Everything a ``/load`` needs; picklable arguments so it can run in a worker process."""
    path = resolve_music_path(Path(music_dir), relative)
    name = display_name(Path(music_dir), relative)
    return build_track(name, decode(path, sample_rate, name), sample_rate, bpm)
