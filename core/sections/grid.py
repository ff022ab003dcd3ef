"""Beat grids the way DJ software means them, from tempo markers.

A marker (Rekordbox ``TEMPO``, Traktor grid cue, Serato beatgrid marker) starts a
segment at a beat: beats follow at its BPM until the next marker, and its
``beat`` (Rekordbox ``Battito``) says where that beat sits in the bar. Two details
decide whether "16 bars" lands on a downbeat:

* A beat of the running segment closer than :data:`MERGE_FRACTION` of a beat to the
  next marker *is* that marker's beat (DJ software draws one line there), so it is
  dropped rather than kept as a near-duplicate.
* Exports round marker times to the millisecond. Rekordbox writes a marker on every
  beat whose rounded time strays from the rounded grid, so a straight 120 BPM grid
  can come out as ``48.026, 48.525, 49.026, ...``. A marker at the same BPM that lies
  within :data:`ROUNDING_S` of a beat of the running segment only restates that
  grid (its ``beat`` may still move the bar phase); the grid keeps its anchor, and
  16 bars at 120 BPM stay exactly 32 s long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MERGE_FRACTION = 0.125
ROUNDING_S = 0.0021  # two millisecond roundings (marker and grid anchor) plus float slack
SAME_BPM = 1e-6


@dataclass(frozen=True)
class GridMarker:
    start: float  # seconds (Rekordbox Inizio)
    bpm: float
    beats_per_bar: int = 4
    beat: int = 1  # position in the bar of the beat at ``start`` (1-based; Battito)


@dataclass(frozen=True)
class CueMark:
    name: str
    start: float
    num: int  # -1 memory cue, 0.. hot cue A..


@dataclass(frozen=True)
class _Segment:
    anchor: float  # time of beat 0 of this straight grid
    period: float
    per_bar: int
    first: int  # index (from the anchor) of the segment's first beat
    phase: int  # bar position (0-based) of that first beat

    @property
    def start(self) -> float:
        return self.anchor + self.first * self.period

    def time(self, index: int) -> float:
        return self.anchor + index * self.period

    def position(self, index: int) -> int:
        return (self.phase + index - self.first) % self.per_bar + 1


def _segments(markers: Sequence[GridMarker]) -> list[_Segment]:
    ordered: dict[float, GridMarker] = {}
    for marker in sorted(markers, key=lambda m: m.start):
        if marker.bpm > 0:
            ordered[round(marker.start, 6)] = marker  # a later duplicate wins
    out: list[_Segment] = []
    for marker in ordered.values():
        per_bar = max(1, marker.beats_per_bar)
        phase = (max(1, marker.beat) - 1) % per_bar
        if out:
            last = out[-1]
            index = round((marker.start - last.anchor) / last.period)
            restates = (
                index > last.first
                and abs(marker.bpm - 60.0 / last.period) <= SAME_BPM * marker.bpm
                and abs(marker.start - last.time(index)) <= ROUNDING_S
                and per_bar == last.per_bar
            )
            if restates:
                if last.position(index) != phase + 1:
                    out.append(_Segment(last.anchor, last.period, per_bar, index, phase))
                continue
        out.append(_Segment(marker.start, 60.0 / marker.bpm, per_bar, 0, phase))
    return out


def beat_grid(markers: Sequence[GridMarker], duration: float) -> tuple[list[float], list[int]]:
    """Beat times (0..``duration``) and their bar positions (1..beats per bar)."""
    segments = _segments(markers)
    beats: list[float] = []
    positions: list[int] = []
    if not segments:
        return beats, positions
    # DJ software draws the first segment's grid back to the start of the track.
    head = segments[0]
    index = head.first - 1
    before: list[tuple[float, int]] = []
    while head.time(index) >= -1e-9:
        before.append((max(0.0, head.time(index)), head.position(index)))
        index -= 1
    for t, p in reversed(before):
        beats.append(t)
        positions.append(p)
    for n, seg in enumerate(segments):
        nxt = segments[n + 1] if n + 1 < len(segments) else None
        index = seg.first
        while True:
            t = seg.time(index)
            if t > duration + 1e-9:
                break
            if nxt is not None and t >= nxt.start - MERGE_FRACTION * seg.period:
                break
            beats.append(t)
            positions.append(seg.position(index))
            index += 1
    return beats, positions


def markers_for(
    beats: Sequence[float], positions: Sequence[int], beats_per_bar: int = 4
) -> list[GridMarker]:
    """The fewest markers that reproduce ``beats`` (to :data:`ROUNDING_S`): one per tempo
    or phase change, for writing a grid back out."""
    out: list[GridMarker] = []
    for i, t in enumerate(beats):
        if i + 1 < len(beats):
            period = beats[i + 1] - t
        elif i > 0:
            period = t - beats[i - 1]
        else:
            period = 0.5
        if out:
            last = out[-1]
            lp = 60.0 / last.bpm
            k = round((t - last.start) / lp)
            phase_ok = (last.beat - 1 + k) % beats_per_bar + 1 == positions[i]
            # A marker's BPM rules the beats after it, so the beat must also start a beat
            # of the marker's length, or the tempo change would come one beat late.
            on_time = abs(t - (last.start + k * lp)) <= 1e-4 and abs(period - lp) <= 1e-5
            if k >= 1 and on_time and phase_ok:
                continue
        out.append(GridMarker(t, 60.0 / period, beats_per_bar, positions[i]))
    return out
