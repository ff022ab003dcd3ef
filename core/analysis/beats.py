"""Tempo, beats and downbeats from the onset envelope.

The tempo comes from :mod:`core.analysis.tempo` (tempogram, prior, metrical-level
decision); a close call between a tempo and its double is then settled by the onsets
(:func:`settle_octave`). The dynamic-programming tracker of librosa (Ellis 2007; numpy
version in :mod:`core.analysis.dp_beats`, no numba compile) places the beats at that tempo.
The estimate is quantised to about a frame, so the BPM reported is the slope of a
robust line fit through runs of regular tracked beats, and the tracker is run a second
time at that tempo; each beat then sits on its onset peak to a fraction of a frame.
Downbeats come from a four-state Viterbi pass over the beats (bar position 1..4), fed by
how much each beat looks like a bar start: a bass hit and a harmonic change.

Why this tracker (#12): madmom's RNN + DBN tracks best among the open anchors, but its
weights are CC BY-NC-SA; BeatNet needs madmom; beat_this downloads its checkpoints at run
time; essentia is AGPL. Of what may ship, a global-tempo DP is what DJ music needs (a
steady grid, no drift over a 5-minute track) and it is fast; a tempo-varying DP,
multi-agent tracking or PLP pay off on rubato and live tempo drift, which the annotated
excerpts we could gather (3 to 24 beats each, benchmarks/analysis_real.py) cannot measure,
so the effort went into what they and the time-stretch benchmark can: the metrical level,
the exact period and the phase of each beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from core.analysis.dp_beats import track_at_tempo
from core.analysis.features import Features
from core.analysis.tempo import TempoEstimate, estimate_tempo

BEATS_PER_BAR = 4
MIN_BEATS = 4  # a 4 s excerpt at 60 BPM
OCTAVE_CLOSE = 0.9  # an octave rival with this share of the evidence is a close call...
FAST_OFFBEATS = 0.85  # ...settled for the faster tempo at this off-beat/beat ratio or more


@dataclass(frozen=True)
class BeatGrid:
    bpm: float
    beats: np.ndarray  # seconds
    downbeats: np.ndarray  # seconds, a subset of beats
    positions: np.ndarray  # 1..4 per beat
    confidence: float = 0.0  # 0..1, from the tempo estimate
    alternatives: tuple[float, ...] = ()  # other plausible tempos (BPM), strongest first


def fit_period(beats: np.ndarray) -> float | None:
    """Beat period (s): the common slope of line fits of beat time against beat number over
    the runs of regular beats.

    The tracker's beats run regularly, then now and then jump (a skipped beat, a half-beat
    slip while it re-locks when its tempo is a little off). Numbering all beats from the first
    one by a provisional period drifts by a beat over a minute when that period is half a
    percent off, and counting every interval as one beat turns a slip into a false extra
    beat; both bent the fit by 1-3 %. So the beats are cut into runs wherever an interval is
    more than 10 % off the provisional period, each run is numbered on its own, and one slope
    is fitted to all runs together (each with its own offset). Twice more with that period.
    """
    beats = np.asarray(beats, dtype=np.float64)
    if len(beats) < 4:
        return None
    period = float(np.median(np.diff(beats)))
    if period <= 0:
        return None
    for _ in range(3):
        regular = np.abs(np.diff(beats) / period - 1) <= 0.1
        # Runs of beats joined by regular intervals (run ids change after each irregular one).
        run = np.concatenate([[0], np.cumsum(~regular)])
        num = den = 0.0
        for r in np.unique(run):
            t = beats[run == r]
            if len(t) < 3:
                continue
            k = np.arange(len(t), dtype=np.float64)
            k -= k.mean()
            num += float(np.dot(k, t - t.mean()))
            den += float(np.dot(k, k))
        if den <= 0:
            return period
        slope = num / den
        if slope <= 0:
            return None
        if abs(slope / period - 1) < 1e-6:
            return slope
        period = slope
    return period


def offbeat_ratio(envelope: np.ndarray, fps: float, bpm: float) -> float | None:
    """Onset strength halfway between the beats tracked at ``bpm`` over that at the beats
    (the strongest frame within two of each): near 1 when the half-beats are as loud as the
    beats (the faster level is the pulse), low when they are not. It does not depend on the
    tempo, so a time-stretch leaves it as it is."""
    frames = track_at_tempo(envelope, fps, bpm)
    if len(frames) < MIN_BEATS:
        return None
    last = len(envelope) - 1

    def strength(at: np.ndarray) -> float:
        at = np.round(at).astype(np.int64)
        return float(
            np.mean(np.max([envelope[np.clip(at + d, 0, last)] for d in range(-2, 3)], axis=0))
        )

    on = strength(frames)
    return strength((frames[:-1] + frames[1:]) / 2) / on if on > 0 else None


def settle_octave(envelope: np.ndarray, fps: float, estimate: TempoEstimate) -> TempoEstimate:
    """Between a tempo and its double that the tempogram and the prior rate about equally
    (``OCTAVE_CLOSE``), half-beats of the slower one nearly as strong as its beats make the
    faster one the pulse. Near the prior's turning point (85/170 BPM) a prior alone flips
    such tracks under a few percent of time-stretch (benchmarks/analysis_tempo_consistency.py);
    this ratio barely moves. Only this direction is taken: weak half-beats do not make the
    slower tempo the pulse (a 120 BPM electro track whose backbeat is narrow-band has them
    at a third of its beats' strength, and was read at 64.6)."""
    other, share = estimate.octave
    if share < OCTAVE_CLOSE:
        return estimate
    slow = min(estimate.bpm, other)
    ratio = offbeat_ratio(envelope, fps, slow)
    if ratio is None:
        return estimate
    if ratio < FAST_OFFBEATS or abs(2 * slow / estimate.bpm - 1) < 0.01:
        return estimate
    alternatives = tuple(
        estimate.bpm if abs(a / other - 1) < 0.01 else a for a in estimate.alternatives
    )
    return TempoEstimate(other, estimate.confidence, alternatives, (estimate.bpm, 1.0 / share))


def track_beats(features: Features) -> BeatGrid | None:
    """Beats of a track, or None when it has no discernible pulse."""
    sr, hop = features.sample_rate, features.hop
    envelope = features.onset.astype(np.float64)
    if len(envelope) < 4 * sr // hop or not np.any(envelope > 0):
        return None
    estimate = estimate_tempo(envelope, sr / hop, features.onset_mean.astype(np.float64))
    if estimate is None:
        return None
    estimate = settle_octave(envelope, sr / hop, estimate)
    frames = track_at_tempo(envelope, sr / hop, estimate.bpm)
    if len(frames) < MIN_BEATS:
        return None
    period = fit_period(frames * hop / sr)
    if period is None:
        return None
    # Second pass at the refined tempo: the tracker's tempo prior is then exact.
    frames = track_at_tempo(envelope, sr / hop, 60.0 / period)
    if len(frames) < MIN_BEATS:
        return None
    beats = _refine_times(envelope, frames, sr, hop)
    period = fit_period(beats) or period
    positions = _bar_positions(features, beats)
    bpm = 60.0 / period
    if abs(bpm / estimate.bpm - 1) > 0.04:
        # The tracker wandered (a short or rubato excerpt): its beats are kept, but the
        # tempogram's estimate is the better tempo.
        bpm = estimate.bpm
    # Octave alternatives follow the refined tempo exactly; an unrelated rival stays as found.
    alternatives = []
    for alt in estimate.alternatives:
        ratio = alt / estimate.bpm
        exact = next((f for f in (2.0, 0.5) if abs(ratio / f - 1) < 0.05), None)
        alternatives.append(bpm * exact if exact is not None else alt)
    return BeatGrid(
        bpm=bpm,
        beats=beats,
        downbeats=beats[positions == 1],
        positions=positions,
        confidence=estimate.confidence,
        alternatives=tuple(alternatives),
    )


def _refine_times(envelope: np.ndarray, frames: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """Sub-frame beat times: a parabola through the onset peak at each beat frame.

    The tracker places a beat on the peak of its smoothed score, which can sit a frame off
    the onset itself; a beat first moves to the strongest envelope frame within one frame
    (23 ms) so the parabola is fitted on the peak, not on its flank (without this, a steady
    140 BPM track came out with beat intervals alternating +-6 %)."""
    frames = np.asarray(frames, dtype=np.int64)
    last = len(envelope) - 1
    around = np.stack([envelope[np.clip(frames + d, 0, last)] for d in (-1, 0, 1)])
    # Ties keep the tracker's frame (argmax of the middle-first order).
    order = around[[1, 0, 2]]
    frames = np.clip(frames + np.array([0, -1, 1])[np.argmax(order, axis=0)], 0, last)
    left = envelope[np.clip(frames - 1, 0, len(envelope) - 1)]
    centre = envelope[frames]
    right = envelope[np.clip(frames + 1, 0, len(envelope) - 1)]
    denom = left - 2 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (left - right) / denom, 0.0)
    shift = np.clip(np.nan_to_num(shift), -0.5, 0.5)
    times: np.ndarray = (frames + shift) * hop / sr
    return times


def _beat_sync(values: np.ndarray, times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (..., n) over the frames between consecutive ``edges`` (s)."""
    last = values.shape[-1] - 1
    idx = np.minimum(np.searchsorted(times, edges), last)  # spans past the end use the last frame
    out = np.zeros(values.shape[:-1] + (len(edges) - 1,), dtype=np.float64)
    for i in range(len(edges) - 1):
        lo, hi = idx[i], max(idx[i + 1], idx[i] + 1)
        out[..., i] = values[..., lo:hi].mean(axis=-1)
    return out


def downbeat_evidence(features: Features, beats: np.ndarray) -> np.ndarray:
    """Per beat, a z-scored measure of how much it looks like the first beat of a bar."""
    times = features.frame_times
    frame = np.clip(
        np.round(beats * features.sample_rate / features.hop).astype(int),
        0,
        len(features.onset) - 1,
    )
    # Bass onset in a +-2 frame window around the beat (kick drums, bass notes).
    window = np.stack(
        [features.bass_onset[np.clip(frame + d, 0, len(times) - 1)] for d in range(-2, 3)]
    )
    bass = window.max(axis=0)
    # Harmonic change: chroma of the beat span after this beat vs the span before it.
    ctimes = features.chroma_times
    chroma = librosa.util.normalize(
        features.chroma36.reshape(12, 3, -1).sum(axis=1) + 1e-9, norm=1, axis=0
    )
    edges = np.concatenate([beats, [beats[-1] + np.median(np.diff(beats))]])
    synced = _beat_sync(chroma, ctimes, edges) if chroma.shape[1] else np.zeros((12, len(beats)))
    change = np.zeros(len(beats))
    change[1:] = np.abs(np.diff(synced, axis=1)).sum(axis=0)

    def z(x: np.ndarray) -> np.ndarray:
        sd = x.std()
        return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)

    novelty: np.ndarray = z(bass) + z(change)
    return novelty


def _bar_positions(features: Features, beats: np.ndarray) -> np.ndarray:
    """Bar position (1..4) of every beat by Viterbi decoding over a 4-cycle."""
    evidence = downbeat_evidence(features, beats)
    n, k = len(beats), BEATS_PER_BAR
    # Log-emission: a downbeat state earns the evidence; other states earn a third of its
    # negative, so the total over a bar does not depend on the phase chosen.
    emit = np.tile(-evidence[:, None] / (k - 1), (1, k))
    emit[:, 0] = evidence
    stay, jump = np.log(0.995), np.log(0.005 / (k - 1))
    trans = np.full((k, k), jump)
    for s in range(k):
        trans[s, (s + 1) % k] = stay
    score = emit[0].copy()
    back = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        total = score[:, None] + trans
        back[i] = np.argmax(total, axis=0)
        score = total[back[i], np.arange(k)] + emit[i]
    states = np.zeros(n, dtype=np.int64)
    states[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        states[i - 1] = back[i, states[i]]
    return states + 1
