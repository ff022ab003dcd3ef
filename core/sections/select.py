"""Which tracks a sections request admits: a BPM window and a set of keys."""

from __future__ import annotations

from dataclasses import dataclass

from core.analysis.keys import Key, parse_key, parse_key_list
from core.analysis.model import TrackAnalysis
from core.errors import BadInput

# Floating-point slack so that 120.5 is inside "122.5 +- 2".
_EPS = 1e-9


@dataclass(frozen=True)
class TrackFilter:
    bpm: float
    delta: float = 2.0
    keys: tuple[Key, ...] = ()
    harmonic: bool = False

    @classmethod
    def build(
        cls,
        bpm: float,
        delta: float = 2.0,
        keys: str | list[str] | None = None,
        harmonic: bool = False,
    ) -> TrackFilter:
        if not bpm or bpm <= 0:
            raise BadInput(f"--bpm must be a positive tempo, not {bpm}")
        if delta < 0:
            raise BadInput(f"--delta must not be negative, not {delta}")
        parsed: list[Key] = []
        if isinstance(keys, str):
            parsed = parse_key_list(keys) if keys.strip() else []
        elif keys:
            parsed = [parse_key(k) for k in keys]
        if harmonic and not parsed:
            raise BadInput("--harmonic needs --key (the keys whose neighbours to admit)")
        return cls(float(bpm), float(delta), tuple(parsed), bool(harmonic))

    @property
    def admitted_keys(self) -> frozenset[Key]:
        if not self.harmonic:
            return frozenset(self.keys)
        return frozenset().union(*(k.neighbours() for k in self.keys))

    def describe_keys(self) -> str:
        return ",".join(sorted(k.name for k in self.admitted_keys))

    def admits_tempo(self, bpm: float) -> bool:
        return self.bpm - self.delta - _EPS <= bpm <= self.bpm + self.delta + _EPS

    def tempo_for(self, analysis: TrackAnalysis) -> float | None:
        """The tempo at which ``analysis`` is admitted: its own, else the first of its
        alternatives in the window (an ambiguous ``87 BPM (or 174)`` track asked for at 174
        is the same music counted twice as fast), else None."""
        if analysis.bpm is None:
            return None
        if self.admits_tempo(analysis.bpm):
            return analysis.bpm
        return next((b for b in analysis.bpm_alternatives if self.admits_tempo(b)), None)

    def reject_reason(self, analysis: TrackAnalysis) -> str | None:
        """Why ``analysis`` is not admitted, or None when it is."""
        if analysis.bpm is None:
            return "no tempo found"
        lo, hi = self.bpm - self.delta, self.bpm + self.delta
        if self.tempo_for(analysis) is None:
            also = "".join(f" (or {b:.2f})" for b in analysis.bpm_alternatives)
            return f"{analysis.bpm:.2f} BPM{also} is outside {lo:g}-{hi:g}"
        if self.keys:
            if not analysis.key:
                return "key unknown"
            key = parse_key(analysis.key)
            if key not in self.admitted_keys:
                return f"key {key.name} ({key.camelot}) is not one of {self.describe_keys()}"
        return None
