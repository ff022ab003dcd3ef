"""A track's beat grid re-read at one of its alternative tempos.

An ambiguous track (``87.0 BPM (or 174)``) is analysed at one metrical level, but a DJ who asks
for the other one (``/sections bpm=174``) means the same music counted differently. The grid at
the other tempo is read off the tracked beats: beat ``j`` of the new grid lies at the
fractional beat number ``first_downbeat + j * old_bpm / new_bpm`` of the old grid, interpolated
between the tracked beats (extrapolated one period past the ends). At x2 that inserts the
off-beats, at x1/2 it keeps every second beat starting on a downbeat, so the bars stay
anchored where the tracker found them. For a non-octave alternative (a 3:2 or 4:3 reading)
the new beats fall between tracked ones; their phase is only as good as the first downbeat.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from core.analysis.model import TrackAnalysis

BEATS_PER_BAR = 4


def at_tempo(analysis: TrackAnalysis, bpm: float) -> TrackAnalysis:
    """``analysis`` with its tempo set to ``bpm`` and its beats, downbeats and bar positions
    re-read at that tempo; the old tempo becomes an alternative."""
    if analysis.bpm is None or analysis.bpm <= 0 or bpm <= 0:
        return analysis
    old = np.asarray(sorted(analysis.beats), dtype=np.float64)
    alternatives = [b for b in analysis.bpm_alternatives if abs(b / bpm - 1) > 0.01]
    alternatives.insert(0, float(analysis.bpm))
    if len(old) < 2:
        return dataclasses.replace(analysis, bpm=float(bpm), bpm_alternatives=alternatives)
    step = analysis.bpm / bpm  # old beats per new beat
    # Start on the first downbeat, then step back to the earliest beat inside the track.
    first = 0.0
    if analysis.downbeats:
        first = float(np.argmin(np.abs(old - min(analysis.downbeats))))
    start = first - np.floor(first / step) * step
    index = np.arange(start, len(old) - 1 + 1e-9, step)
    period = 60.0 / analysis.bpm
    # Extend the beat numbering one period past each end so interpolation never clamps.
    knots = np.concatenate([[old[0] - period], old, [old[-1] + period]])
    times = np.interp(index + 1, np.arange(len(knots)), knots)
    # Bar positions count from the first downbeat (j = 0 there), so its bar stays a bar.
    positions = (np.round((index - first) / step).astype(int) % BEATS_PER_BAR) + 1
    inside = (times >= 0) & (times <= max(analysis.duration, float(old[-1])))
    times, positions = times[inside], positions[inside]
    return dataclasses.replace(
        analysis,
        bpm=float(bpm),
        bpm_alternatives=alternatives,
        beats=[float(t) for t in times],
        downbeats=[float(t) for t, p in zip(times, positions, strict=True) if p == 1],
        beat_positions=[int(p) for p in positions],
    )
