"""Write a section as WAV: the original-speed crop and the tempo-aligned version.

Rubber Band (through pedalboard) changes the tempo with the pitch kept. Its output
length can differ from the ideal by a few samples, so the stretched audio is
trimmed or padded to exactly ``round(frames / speed)`` samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pedalboard
import soundfile

from core.audio import decode_array
from core.sections.cues import SectionCues

CHANNELS = 2
SUBTYPE = "PCM_16"


@dataclass(frozen=True)
class ExportedPart:
    part_file: Path
    part_file_orig: Path
    frames_orig: int
    frames_sectioned: int


def fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    """``(frames, channels)``: cut or zero-pad ``audio`` to exactly ``frames`` rows."""
    if len(audio) >= frames:
        return audio[:frames]
    pad = np.zeros((frames - len(audio), audio.shape[1]), dtype=audio.dtype)
    return np.concatenate([audio, pad], axis=0)


def stretch(audio: np.ndarray, sample_rate: int, speed: float, frames: int) -> np.ndarray:
    """``audio`` (frames, channels) played ``speed`` times faster, pitch kept, ``frames`` long."""
    if abs(speed - 1.0) < 1e-9:
        return fit_length(audio, frames)
    out = pedalboard.time_stretch(
        np.ascontiguousarray(audio.T), float(sample_rate), stretch_factor=float(speed)
    )
    return fit_length(np.ascontiguousarray(out.T), frames)


def crop(source: Path, cues: SectionCues) -> np.ndarray:
    """The section of ``source`` at the cues' rate, exactly ``frames_orig`` frames long."""
    seconds = cues.frames_orig / cues.sample_rate
    audio = decode_array(
        source, cues.sample_rate, CHANNELS, start_s=cues.ini_cue, duration_s=seconds + 0.05
    )
    return fit_length(audio, cues.frames_orig)


def export_section(
    source: Path, cues: SectionCues, part_file: Path, part_file_orig: Path
) -> ExportedPart:
    audio = crop(source, cues)
    stretched = stretch(audio, cues.sample_rate, cues.speed, cues.frames_sectioned)
    for target, data in ((part_file_orig, audio), (part_file, stretched)):
        target.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(target), np.clip(data, -1.0, 1.0), cues.sample_rate, subtype=SUBTYPE)
    return ExportedPart(part_file, part_file_orig, len(audio), len(stretched))
