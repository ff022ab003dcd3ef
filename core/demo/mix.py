"""Render a short DJ mix from a crate: excerpts played faster or slower, crossfaded.

Each excerpt is played either like a turntable ("vinyl": resampled, so tempo and
pitch move together) or with keylock (time-stretched by Rubber Band through
pedalboard, pitch kept), then joined with equal-power crossfades. The truth (which
track starts where, at which speed) is returned so the identification can be
compared with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 44100


@dataclass(frozen=True)
class MixEntry:
    """One excerpt of the mix: where it starts in the mix and how it was played."""

    path: Path
    start_s: float
    speed: float
    mode: str  # "vinyl" | "keylock"


def _play(audio: np.ndarray, speed: float, mode: str) -> np.ndarray:
    if mode == "vinyl":
        import soxr

        return np.asarray(soxr.resample(audio, SR * speed, SR), dtype=np.float32)
    import pedalboard

    stretched = pedalboard.time_stretch(
        np.ascontiguousarray(audio.T), float(SR), stretch_factor=float(speed)
    )
    return np.ascontiguousarray(np.asarray(stretched, dtype=np.float32).T)


def render_mix(
    paths: list[Path],
    speeds: list[float],
    excerpt_s: float = 40.0,
    fade_s: float = 8.0,
) -> tuple[np.ndarray, list[MixEntry]]:
    """``(frames, 2)`` float32 mix of excerpts of ``paths`` and its tracklist.

    Excerpts alternate vinyl and keylock; each starts a quarter into its track so the
    mix is not all intros.
    """
    import soundfile as sf

    pieces: list[np.ndarray] = []
    entries: list[MixEntry] = []
    fade = int(fade_s * SR)
    position = 0
    for k, (path, speed) in enumerate(zip(paths, speeds, strict=True)):
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        if rate != SR:
            raise ValueError(f"{path.name}: expected {SR} Hz, got {rate}")
        offset = len(audio) // 4
        source_frames = int((excerpt_s + fade_s) * speed * SR)
        excerpt = audio[offset : offset + source_frames]
        mode = "vinyl" if k % 2 == 0 else "keylock"
        played = _play(excerpt, speed, mode)
        entries.append(MixEntry(path, position / SR, speed, mode))
        pieces.append(played)
        position += len(played) - fade
    total = position + fade
    mix = np.zeros((total, 2), dtype=np.float32)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade, dtype=np.float32)) ** 2
    cursor = 0
    for k, piece in enumerate(pieces):
        piece = piece.copy()
        if k > 0:
            piece[:fade] *= np.sqrt(ramp)[:, None]
        if k < len(pieces) - 1:
            piece[-fade:] *= np.sqrt(ramp[::-1])[:, None]
        end = min(total, cursor + len(piece))
        mix[cursor:end] += piece[: end - cursor]
        cursor += len(piece) - fade
    peak = float(np.max(np.abs(mix))) or 1.0
    return mix * (0.9 / peak), entries
