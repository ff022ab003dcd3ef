"""Movement level (0..1) to target tempo, with Crowdstream's defaults, configurable by JSON.

JSON shape (every key optional; missing keys keep the defaults)::

    {
      "base_bpm": 120,
      "transition_s": 30,
      "bands": [{"below": 0.02, "bpm": 105}, {"below": 0.05, "bpm": 110},
                {"below": 0.10, "bpm": 115}, {"below": 0.15, "bpm": 118}],
      "progressive": {"from_level": 0.15, "to_level": 0.6, "from_bpm": 118, "to_bpm": 130},
      "deadband_bpm": 0.5
    }

Levels at or above the last band's ``below`` ramp linearly from ``from_bpm`` to
``to_bpm`` as the level goes from ``from_level`` to ``to_level`` (Crowdstream's
``movement_max_value`` 0.6), then stay at ``to_bpm``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Band:
    below: float
    bpm: float


@dataclass(frozen=True)
class Progressive:
    from_level: float = 0.15
    to_level: float = 0.6
    from_bpm: float = 118.0
    to_bpm: float = 130.0


def _default_bands() -> tuple[Band, ...]:
    return (Band(0.02, 105.0), Band(0.05, 110.0), Band(0.10, 115.0), Band(0.15, 118.0))


@dataclass(frozen=True)
class AutoBpmConfig:
    base_bpm: float = 120.0
    transition_s: float = 30.0
    bands: tuple[Band, ...] = field(default_factory=_default_bands)
    progressive: Progressive = field(default_factory=Progressive)
    # Movement reports jitter; a new target closer than this to the current one is
    # ignored so the 30 s transition is not restarted by noise.
    deadband_bpm: float = 0.5

    def __post_init__(self) -> None:
        _check_bpm("base_bpm", self.base_bpm)
        if not (math.isfinite(self.transition_s) and self.transition_s >= 0):
            raise ValueError(f"transition_s must be >= 0 seconds, got {self.transition_s}")
        if not self.bands:
            raise ValueError("bands must list at least one {below, bpm} band")
        last = -math.inf
        for i, band in enumerate(self.bands):
            _check_bpm(f"bands[{i}].bpm", band.bpm)
            if not 0 < band.below <= 1 or band.below <= last:
                raise ValueError(
                    f"bands[{i}].below must be in (0, 1] and increasing, got {band.below}"
                )
            last = band.below
        p = self.progressive
        _check_bpm("progressive.from_bpm", p.from_bpm)
        _check_bpm("progressive.to_bpm", p.to_bpm)
        if not p.from_level < p.to_level:
            raise ValueError(
                f"progressive.from_level ({p.from_level}) must be below to_level ({p.to_level})"
            )
        if self.deadband_bpm < 0:
            raise ValueError(f"deadband_bpm must be >= 0, got {self.deadband_bpm}")

    def target_for(self, level: float) -> float:
        """Target BPM for a movement level in 0..1 (clamped)."""
        if not math.isfinite(level):
            raise ValueError(f"movement level must be a finite number, got {level}")
        level = min(1.0, max(0.0, level))
        for band in self.bands:
            if level < band.below:
                return band.bpm
        p = self.progressive
        frac = (level - p.from_level) / (p.to_level - p.from_level)
        frac = min(1.0, max(0.0, frac))
        return p.from_bpm + frac * (p.to_bpm - p.from_bpm)

    @classmethod
    def from_json(cls, path: Path) -> AutoBpmConfig:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read auto-BPM config {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"auto-BPM config {path} is not valid JSON: {exc}") from exc
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: Any, source: str = "config") -> AutoBpmConfig:
        if not isinstance(raw, dict):
            raise ValueError(f"{source}: top level must be a JSON object")
        known = {"base_bpm", "transition_s", "bands", "progressive", "deadband_bpm"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {}
        try:
            for key in ("base_bpm", "transition_s", "deadband_bpm"):
                if key in raw:
                    kwargs[key] = float(raw[key])
            if "bands" in raw:
                kwargs["bands"] = tuple(
                    Band(float(b["below"]), float(b["bpm"])) for b in raw["bands"]
                )
            if "progressive" in raw:
                kwargs["progressive"] = Progressive(
                    **{k: float(v) for k, v in raw["progressive"].items()}
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: bad value ({exc!r}); see realtime/autobpm.py") from exc
        return cls(**kwargs)


def _check_bpm(name: str, bpm: float) -> None:
    if not (math.isfinite(bpm) and 20 <= bpm <= 300):
        raise ValueError(f"{name} must be a tempo between 20 and 300 BPM, got {bpm}")
