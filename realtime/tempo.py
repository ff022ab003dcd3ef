"""The master tempo: a BPM that ramps linearly in engine time, and a beat counter.

Advanced once per audio block by the callback, so a ramp of 30 s takes 30 s of
rendered audio whatever the block size or scheduling (Crowdstream counted loop
iterations and took ~70 s). The beat counter integrates the tempo and is never
reset, so the beat phase survives every tempo change.
"""

from __future__ import annotations


class TempoClock:
    def __init__(self, bpm: float, sample_rate: int):
        self.sample_rate = sample_rate
        self.bpm = bpm
        self.target = bpm
        self.beats = 0.0
        self._ramp_from = bpm
        self._ramp_total = 0
        self._ramp_done = 0

    @property
    def ramping(self) -> bool:
        return self._ramp_done < self._ramp_total

    @property
    def ramp_remaining_s(self) -> float:
        return max(0, self._ramp_total - self._ramp_done) / self.sample_rate

    def set_target(self, target: float, ramp_samples: int) -> None:
        self.target = target
        if ramp_samples <= 0:
            self.bpm = target
            self._ramp_total = self._ramp_done = 0
        else:
            self._ramp_from = self.bpm
            self._ramp_total = ramp_samples
            self._ramp_done = 0

    def advance(self, frames: int) -> tuple[float, float]:
        """Move on by one block; returns the tempo at its first and last sample."""
        start = self.bpm
        if self._ramp_done < self._ramp_total:
            self._ramp_done += frames
            frac = self._ramp_done / self._ramp_total
            if frac >= 1.0:
                frac = 1.0
                self._ramp_done = self._ramp_total
            self.bpm = self._ramp_from + (self.target - self._ramp_from) * frac
        end = self.bpm
        self.beats += (start + end) * 0.5 / 60.0 * frames / self.sample_rate
        return start, end
