"""Cue maths of a tempo-aligned section, exact to the sample.

A section starts at the intro cue (``ini_cue``) and runs ``bars`` bars, counted on
the beat grid; ``begin_cue`` marks where its last ``mix_bars`` bars (the mix-out
zone) begin. All three cues are rounded to whole samples of the export rate, so
``duration_orig`` is an exact number of samples. Played at
``speed = target_bpm / bpm`` a time ``t`` after the intro cue lands at
``t / speed``: adjusted cues divide by the speed (Crowdstream multiplied), and the
stretched part holds ``round(frames_orig / speed)`` samples, so
``duration_sectioned`` equals ``duration_orig / speed`` to within half a sample.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from core.analysis.model import TrackAnalysis
from core.errors import BadInput

EXPORT_RATE = 44100
MIN_SPEED, MAX_SPEED = 0.5, 2.0


class Unsuitable(Exception):
    """This track cannot give the requested section; the message says why."""


@dataclass(frozen=True)
class SectionCues:
    sample_rate: int
    bpm: float
    target_bpm: float
    ini_frame: int
    begin_frame: int
    end_frame: int
    ini_source: str  # "intro", "first downbeat" or "<software> cue" ("rekordbox cue")
    ini_position: int = 1  # bar position (1..n) of the beat at the intro cue

    @property
    def speed(self) -> float:
        return self.target_bpm / self.bpm

    @property
    def ini_cue(self) -> float:
        return self.ini_frame / self.sample_rate

    @property
    def begin_cue(self) -> float:
        return self.begin_frame / self.sample_rate

    @property
    def end_cue(self) -> float:
        return self.end_frame / self.sample_rate

    def adjusted(self, cue: float) -> float:
        """Where ``cue`` (seconds in the original) falls in the tempo-aligned part."""
        return (cue - self.ini_cue) / self.speed

    @property
    def begin_cue_adj(self) -> float:
        return self.adjusted(self.begin_cue)

    @property
    def end_cue_adj(self) -> float:
        return self.adjusted(self.end_cue)

    @property
    def frames_orig(self) -> int:
        return self.end_frame - self.ini_frame

    @property
    def frames_sectioned(self) -> int:
        return round(self.frames_orig / self.speed)

    @property
    def duration_orig(self) -> float:
        return self.frames_orig / self.sample_rate

    @property
    def duration_sectioned(self) -> float:
        return self.frames_sectioned / self.sample_rate


def intro_end(analysis: TrackAnalysis) -> tuple[float, str]:
    """End of the (last) intro segment, or the first downbeat when there is no intro."""
    intros = analysis.segment_at("intro")
    if intros:
        return intros[-1].end, "intro"
    if analysis.downbeats:
        return analysis.downbeats[0], "first downbeat"
    if analysis.beats:
        return analysis.beats[0], "first beat"
    raise Unsuitable("no beat grid to cut on")


def _grid_beat(beats: list[float], index: int, period: float) -> float:
    """Beat ``index`` of the grid, extended past its end at the track's tempo."""
    if index < len(beats):
        return beats[index]
    return beats[-1] + (index - len(beats) + 1) * period


def section_cues(
    analysis: TrackAnalysis,
    bars: int,
    target_bpm: float,
    mix_bars: int | None = None,
    ini_cue: float | None = None,
    beats_per_bar: int = 4,
    sample_rate: int = EXPORT_RATE,
    cue_label: str = "rekordbox cue",
) -> SectionCues:
    """The cues of the ``bars``-bar section from the intro cue, or :class:`Unsuitable`."""
    if bars < 1:
        raise BadInput(f"--bars must be at least 1, not {bars}")
    if target_bpm <= 0:
        raise BadInput(f"the target BPM must be positive, not {target_bpm}")
    mix = max(1, bars // 4) if mix_bars is None else mix_bars
    if not 0 <= mix <= bars:
        raise BadInput(f"--mix-bars must lie between 0 and --bars ({bars}), not {mix}")
    if analysis.bpm is None or analysis.bpm <= 0:
        raise Unsuitable("no tempo")
    speed = target_bpm / analysis.bpm
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise Unsuitable(
            f"speed {speed:.3f} to reach {target_bpm:g} BPM is outside {MIN_SPEED}-{MAX_SPEED}"
        )
    beats = sorted(analysis.beats)
    if len(beats) < 2:
        raise Unsuitable("no beat grid to cut on")
    if ini_cue is None:
        start, source = intro_end(analysis)
    else:
        start, source = ini_cue, cue_label
    # A cue placed by the DJ counts from the grid beat nearest it; the analysis' intro
    # end counts from the nearest downbeat, so the section is whole bars of the grid.
    downbeats = sorted(analysis.downbeats)
    if ini_cue is None and downbeats:
        start = _nearest(downbeats, start)
    i = bisect.bisect_left(beats, start)
    if i == len(beats) or (i > 0 and start - beats[i - 1] <= beats[i] - start):
        i -= 1
    period = 60.0 / analysis.bpm
    end = _grid_beat(beats, i + bars * beats_per_bar, period)
    if end > analysis.duration + 1e-6:
        raise Unsuitable(
            f"too short for {bars} bars after the intro cue at {beats[i]:.2f} s "
            f"(section would end at {end:.2f} s of {analysis.duration:.2f} s)"
        )
    begin = _grid_beat(beats, i + (bars - mix) * beats_per_bar, period)
    # Lengths are rounded once, from the intro cue, so 16 bars of a straight 120 BPM
    # grid are exactly 1411200 samples wherever the grid's anchor falls between samples.
    ini_frame = round(beats[i] * sample_rate)
    positions = analysis.beat_positions
    return SectionCues(
        sample_rate=sample_rate,
        bpm=float(analysis.bpm),
        target_bpm=float(target_bpm),
        ini_frame=ini_frame,
        begin_frame=ini_frame + round((begin - beats[i]) * sample_rate),
        end_frame=ini_frame + round((end - beats[i]) * sample_rate),
        ini_source=source,
        ini_position=positions[i] if len(positions) == len(beats) else 1,
    )


def _nearest(times: list[float], t: float) -> float:
    i = bisect.bisect_left(times, t)
    around = times[max(0, i - 1) : i + 1]
    return min(around, key=lambda x: abs(x - t))
