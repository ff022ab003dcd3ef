"""Tempo estimation from an onset envelope: prior, metrical level, alternatives, confidence."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.tempo import estimate_tempo

FPS = 22050 / 512


def pulses(seconds: float, *layers: tuple[float, float, float]) -> np.ndarray:
    """Envelope with a narrow peak per event; each layer: (events per minute, height, phase s)."""
    t = np.arange(int(seconds * FPS)) / FPS
    env = np.zeros_like(t)
    for rate, height, phase in layers:
        period = 60.0 / rate
        distance = np.abs(((t - phase) / period + 0.5) % 1.0 - 0.5) * period
        env += height * np.exp(-0.5 * (distance / 0.012) ** 2)
    return env


def test_eighth_notes_of_a_slow_melody_are_read_at_the_quarter_note() -> None:
    # A 6 s loop of even eighths at 184/min over quarter notes barely louder (the solo-trumpet
    # case): the tempogram favours the eighths; the metrical-level decision halves them.
    env = pulses(6.0, (184.0, 1.0, 0.1), (92.0, 0.1, 0.1))
    estimate = estimate_tempo(env, FPS)
    assert estimate is not None
    assert estimate.bpm == pytest.approx(92.0, rel=0.03)
    assert any(b == pytest.approx(184.0, rel=0.03) for b in estimate.alternatives)


def test_a_steady_house_beat_is_read_at_its_tempo_with_confidence() -> None:
    # Kick on every beat, hats on the off-beats, a clap every second beat.
    env = pulses(30.0, (124.0, 1.0, 0.2), (124.0, 0.4, 0.2 + 60 / 248), (62.0, 0.5, 0.2 + 60 / 124))
    estimate = estimate_tempo(env, FPS)
    assert estimate is not None
    assert estimate.bpm == pytest.approx(124.0, rel=0.02)
    assert estimate.confidence > 0.3


def test_a_three_two_rival_is_reported_when_the_evidence_is_split() -> None:
    # Equal-strength pulse trains at 90 and 135 (a 3:2 polyrhythm): either could be the beat.
    env = pulses(30.0, (90.0, 1.0, 0.1), (135.0, 1.0, 0.1))
    estimate = estimate_tempo(env, FPS)
    assert estimate is not None
    found = [estimate.bpm, *estimate.alternatives]
    assert any(b == pytest.approx(90.0, rel=0.03) for b in found)
    assert any(b == pytest.approx(135.0, rel=0.03) for b in found)
    assert estimate.confidence < 0.5


def test_no_pulse_no_tempo() -> None:
    assert estimate_tempo(np.zeros(int(30 * FPS)), FPS) is None
    assert estimate_tempo(pulses(2.0, (120.0, 1.0, 0.0)), FPS) is None  # under 4 s


def test_beat_period_fit_does_not_drift_over_a_long_excerpt() -> None:
    """Uneven intervals (a pushed and a laid-back beat) put the median half a percent under
    the mean period; the fit must still count every interval as one beat (it used to number
    beats from the median and report 118.3 BPM for a 115.2 BPM track after a minute)."""
    from core.analysis.beats import fit_period

    period = 60.0 / 115.2
    rng = np.random.default_rng(3)
    intervals = np.where(rng.random(130) < 0.6, 0.99 * period, 1.015 * period)
    beats = np.concatenate([[0.3], 0.3 + np.cumsum(intervals)])
    assert np.median(np.diff(beats)) == pytest.approx(0.99 * period)
    fitted = fit_period(beats)
    assert fitted is not None
    assert fitted == pytest.approx(float(np.mean(intervals)), rel=2e-3)
    # A skipped beat (an interval of two periods) still counts as two.
    skipped = np.delete(beats, 40)
    assert fit_period(skipped) == pytest.approx(float(np.mean(intervals)), rel=2e-3)
    # A tracker that slips by half a beat while it re-locks (intervals of 0.83 and 0.77
    # periods) has not gained a beat: the period stays that of the regular runs.
    slip = np.concatenate(
        [np.full(60, period), [0.83 * period, 0.77 * period], np.full(60, period)]
    )
    slipped = np.concatenate([[0.1], 0.1 + np.cumsum(slip)])
    assert fit_period(slipped) == pytest.approx(period, rel=1e-6)


def test_beats_sit_on_the_onset_peak_not_its_flank() -> None:
    """A beat the tracker put a frame beside an onset moves onto it (then to the sub-frame
    peak), so a steady track's beat intervals do not alternate by a frame."""
    from core.analysis.beats import _refine_times

    envelope = np.zeros(64)
    for peak in (10, 30, 50):
        envelope[peak - 1 : peak + 2] = (0.5, 1.0, 0.5)
    times = _refine_times(envelope, np.array([11, 29, 50]), 22050, 512)
    assert times * 22050 / 512 == pytest.approx([10.0, 30.0, 50.0])


def test_close_octave_call_goes_to_the_faster_tempo_when_half_beats_are_as_strong() -> None:
    from core.analysis.beats import settle_octave
    from core.analysis.tempo import TempoEstimate

    fps = 22050 / 512
    period = 60.0 * fps / 160.0  # frames per beat at 160 BPM
    even = np.zeros(int(30 * fps))
    even[np.round(np.arange(5, len(even) - 5, period)).astype(int)] = 1.0
    close = TempoEstimate(80.0, 0.05, (160.0,), (160.0, 0.95))
    settled = settle_octave(even, fps, close)
    assert settled.bpm == 160.0 and settled.alternatives == (80.0,)
    # Every second hit at a fifth of the strength: 80 BPM stays, as does a clear call.
    accented = even.copy()
    accented[np.round(np.arange(5 + period, len(even) - 5, 2 * period)).astype(int)] = 0.2
    assert settle_octave(accented, fps, close).bpm == 80.0
    assert settle_octave(even, fps, TempoEstimate(80.0, 0.5, (160.0,), (160.0, 0.6))).bpm == 80.0
