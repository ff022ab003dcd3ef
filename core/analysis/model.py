"""The analysis of one track, and its all-in-one structure JSON form.

The JSON layout is the one the ``allin1`` analyser writes and Crowdstream reads
(``path``, ``bpm``, ``beats``, ``downbeats``, ``beat_positions``, ``segments``),
plus ``key`` and ``camelot``; extra fields (duration, loudness, ...) ride along
and are ignored by readers that do not know them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.analysis.keys import parse_key
from core.analysis.segments import Segment
from core.errors import BadInput

# Bumped whenever the analysis of the same audio changes, so stored analyses are redone.
# 3: #12 tempo/beats; 4: #12 key; 5: #12 beat-period fit over regular runs, octave check.
ANALYZER_VERSION = "cratebot-analysis-5"


@dataclass
class TrackAnalysis:
    path: str
    duration: float
    bpm: float | None
    beats: list[float]
    downbeats: list[float]
    beat_positions: list[int]
    segments: list[Segment]
    key: str | None = None
    camelot: str | None = None
    bpm_confidence: float | None = None  # 0..1
    bpm_alternatives: list[float] = field(default_factory=list)  # other plausible tempos
    key_confidence: float | None = None
    tuning_cents: float | None = None
    loudness_lufs: float | None = None
    peak_dbfs: float | None = None
    sha256: str | None = None
    analyzer: str = ANALYZER_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Path(self.path).name

    def segment_at(self, label: str) -> list[Segment]:
        return [s for s in self.segments if s.label.lower() == label]

    def to_struct(self) -> dict[str, Any]:
        """The all-in-one JSON object (times in seconds)."""
        return {
            "path": self.path,
            "bpm": None if self.bpm is None else round(self.bpm, 3),
            "bpm_confidence": (
                None if self.bpm_confidence is None else round(self.bpm_confidence, 3)
            ),
            "bpm_alternatives": [round(b, 2) for b in self.bpm_alternatives],
            "beats": [round(t, 4) for t in self.beats],
            "downbeats": [round(t, 4) for t in self.downbeats],
            "beat_positions": [int(p) for p in self.beat_positions],
            "segments": [s.as_dict() for s in self.segments],
            "key": self.key,
            "camelot": self.camelot,
            "duration": round(self.duration, 4),
            "loudness_lufs": None if self.loudness_lufs is None else round(self.loudness_lufs, 2),
            "peak_dbfs": None if self.peak_dbfs is None else round(self.peak_dbfs, 2),
            "key_confidence": (
                None if self.key_confidence is None else round(self.key_confidence, 4)
            ),
            "tuning_cents": self.tuning_cents,
            "sha256": self.sha256,
            "analyzer": self.analyzer,
        }

    @classmethod
    def from_struct(cls, data: dict[str, Any], source: str = "structure JSON") -> TrackAnalysis:
        """Read an all-in-one object (ours or allin1's); raise BadInput naming what is wrong."""
        if not isinstance(data, dict):
            raise BadInput(f"{source}: expected a JSON object")
        path = data.get("path")
        if not isinstance(path, str) or not path:
            raise BadInput(f"{source}: no 'path' field")
        try:
            bpm = _optional_float(data.get("bpm"))
            alternatives = [float(b) for b in data.get("bpm_alternatives") or []]
            beats = [float(t) for t in data.get("beats") or []]
            downbeats = [float(t) for t in data.get("downbeats") or []]
            positions = [int(p) for p in data.get("beat_positions") or []]
            segments = [
                Segment(float(s["start"]), float(s["end"]), str(s.get("label", "")))
                for s in data.get("segments") or []
            ]
        except (TypeError, ValueError, KeyError) as exc:
            raise BadInput(f"{source}: malformed field ({exc})") from exc
        if bpm is not None and bpm <= 0:
            bpm = None
        key_text = data.get("key")
        key = camelot = None
        if isinstance(key_text, str) and key_text.strip():
            parsed = parse_key(key_text)
            key, camelot = parsed.name, parsed.camelot
        ends = [s.end for s in segments] + beats[-1:]
        duration = _optional_float(data.get("duration")) or (max(ends) if ends else 0.0)
        return cls(
            path=path,
            duration=duration,
            bpm=bpm,
            beats=beats,
            downbeats=downbeats,
            beat_positions=positions,
            segments=segments,
            key=key,
            camelot=camelot,
            bpm_confidence=_optional_float(data.get("bpm_confidence")),
            bpm_alternatives=[b for b in alternatives if math.isfinite(b) and b > 0],
            key_confidence=_optional_float(data.get("key_confidence")),
            tuning_cents=_optional_float(data.get("tuning_cents")),
            loudness_lufs=_optional_float(data.get("loudness_lufs")),
            peak_dbfs=_optional_float(data.get("peak_dbfs")),
            sha256=data.get("sha256") if isinstance(data.get("sha256"), str) else None,
            analyzer=str(data.get("analyzer") or "external"),
        )


def _optional_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def load_struct_file(path: Path) -> TrackAnalysis:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path.name}: not a readable JSON file ({exc})") from exc
    return TrackAnalysis.from_struct(data, path.name)


def load_struct_dir(folder: Path) -> list[TrackAnalysis]:
    """Every ``*.json`` in ``folder`` (sorted); the folder must exist and hold at least one."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise BadInput(f"{folder}: no such folder of structure JSONs")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise BadInput(f"{folder}: holds no .json files")
    return [load_struct_file(f) for f in files]


def write_struct_file(analysis: TrackAnalysis, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{Path(analysis.path).stem}.json"
    target.write_text(json.dumps(analysis.to_struct(), indent=2), encoding="utf-8")
    return target
