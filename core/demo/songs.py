"""Short synthetic dance tracks for ``cratebot demo``: drums, bass, chords and a lead line.

The demo must work on a plain clone with no network and no music collection, so it
writes its own crate. Each track has a known tempo and key (a four-chord loop in that
key, a bass line on the chord roots, a seeded lead melody from the key's scale and a
four-on-the-floor drum pattern), so what `analyze` and `id` report can be checked
against what was rendered. Synthesised here because no registry package ships
openly licensed loops of known tempo and key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 44100
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Harmonic minor: its raised seventh (the major V chord) is what tells a minor key from
# its relative major, for listeners and key detectors alike.
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
# Chord loops as semitone offsets from the tonic: i-VI-iv-V in minor, I-V-vi-IV in major.
_MINOR_LOOP = ((0, 3, 7), (8, 12, 15), (5, 8, 12), (7, 11, 14))
_MAJOR_LOOP = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))


@dataclass(frozen=True)
class DemoTrack:
    """What a demo track is: the truth the demo's results can be compared with."""

    artist: str
    title: str
    bpm: float
    tonic: int  # pitch class, 0 = C
    minor: bool
    seed: int
    bars: int = 40

    @property
    def key(self) -> str:
        return _NOTE_NAMES[self.tonic] + ("m" if self.minor else "")

    @property
    def file_name(self) -> str:
        return f"{self.artist.replace(' ', '_')}--{self.title.replace(' ', '_')}.flac"

    @property
    def duration_s(self) -> float:
        return self.bars * 4 * 60.0 / self.bpm


DEMO_TRACKS: tuple[DemoTrack, ...] = (
    DemoTrack("Demo Unit", "Night Shift", 124.0, 9, True, 11),
    DemoTrack("Demo Unit", "Harbour Lights", 122.0, 0, False, 12),
    DemoTrack("Loop Theory", "Concrete Bloom", 126.0, 7, True, 13),
    DemoTrack("Loop Theory", "Glass Stairs", 120.0, 2, True, 14),
    DemoTrack("Sine Collective", "Late Ferry", 128.0, 5, False, 15),
    DemoTrack("Sine Collective", "Copper Wire", 123.0, 4, True, 16),
)


def _midi_hz(midi: float) -> float:
    return float(440.0 * 2 ** ((midi - 69) / 12))


def _voice(freq: float, frames: int, decay: float, harmonics: tuple[float, ...]) -> np.ndarray:
    t = np.arange(frames) / SR
    wave = sum(a * np.sin(2 * np.pi * freq * (h + 1) * t) for h, a in enumerate(harmonics))
    attack = np.minimum(1.0, t * 400)
    return np.asarray(wave * attack * np.exp(-t * decay), dtype=np.float64)


def _add(out: np.ndarray, start: int, sound: np.ndarray, gain: float) -> None:
    end = min(len(out), start + len(sound))
    if end > start:
        out[start:end] += gain * sound[: end - start]


def render_track(track: DemoTrack) -> np.ndarray:
    """``(frames, 2)`` float32 stereo audio of ``track``."""
    rng = np.random.default_rng(track.seed)
    beat = int(round(60.0 / track.bpm * SR))
    frames = beat * 4 * track.bars
    out = np.zeros((frames, 2))
    mono = np.zeros(frames)
    scale = _MINOR_SCALE if track.minor else _MAJOR_SCALE
    loop = _MINOR_LOOP if track.minor else _MAJOR_LOOP
    root_midi = 48 + track.tonic

    kick = np.sin(2 * np.pi * np.cumsum(np.linspace(150, 45, 5000)) / SR) * np.exp(
        -np.arange(5000) / 1100
    )
    snare_noise = rng.normal(0, 1, 4000) * np.exp(-np.arange(4000) / 700)
    hat_noise = np.diff(rng.normal(0, 1, 1201)) * np.exp(-np.arange(1200) / 180)
    intro_bars = 8  # drums only at first: a clean intro for `sections`
    for bar in range(track.bars):
        chord = [root_midi + offset for offset in loop[bar % len(loop)]]
        chord_root = chord[0]
        for b in range(4):
            start = (bar * 4 + b) * beat
            _add(mono, start, kick, 0.9)
            _add(mono, start + beat // 2, hat_noise, 0.25)
            if b in (1, 3):
                _add(mono, start, snare_noise, 0.35)
            if bar >= intro_bars // 2:
                bass_note = chord_root - 12 + (12 if b == 2 else 0)
                _add(
                    mono,
                    start + beat // 2,
                    _voice(_midi_hz(bass_note), beat // 2, 6.0, (1.0, 0.4, 0.15)),
                    0.45,
                )
        if bar >= intro_bars:
            pad_len = beat * 4
            for note in chord:
                _add(
                    mono,
                    bar * 4 * beat,
                    _voice(_midi_hz(note + 12), pad_len, 0.8, (0.5, 0.25, 0.1, 0.05)),
                    0.16,
                )
            for step in range(8):
                if rng.random() < 0.7:
                    degree_l = int(rng.integers(0, 7))
                    note = root_midi + 24 + scale[degree_l]
                    length = beat // 2 * int(rng.choice([1, 1, 2]))
                    _add(
                        mono,
                        bar * 4 * beat + step * beat // 2,
                        _voice(_midi_hz(note), length, 4.0, (1.0, 0.3, 0.2, 0.1)),
                        0.22,
                    )
    pan = 0.15 * np.sin(np.arange(frames) / SR * 0.5)
    out[:, 0] = mono * (1 - pan)
    out[:, 1] = mono * (1 + pan)
    peak = float(np.max(np.abs(out))) or 1.0
    return np.asarray(0.85 * out / peak, dtype=np.float32)


def write_crate(folder: Path, tracks: tuple[DemoTrack, ...] = DEMO_TRACKS) -> list[Path]:
    """Render ``tracks`` as FLAC files in ``folder`` (kept when already there)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for track in tracks:
        path = folder / track.file_name
        if not path.is_file():
            tmp = path.with_suffix(".part.flac")
            sf.write(tmp, render_track(track), SR, subtype="PCM_16")
            tmp.replace(path)
        paths.append(path)
    return paths
