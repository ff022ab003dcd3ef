"""Global tempo of an onset envelope: tempogram, log-normal prior, metrical-level decision.

Approach (after studying librosa's ``beat_track``/PLP, essentia's RhythmExtractor2013,
madmom's RNN+DBN and Percival & Tzanetakis 2014): madmom's networks are the most accurate
but their weights are CC BY-NC-SA, essentia is AGPL, so the estimate is built from open
parts. The mean of local autocorrelations of the onset envelope (librosa's tempogram, 8.9 s
windows) is weighted by a log-normal preference around 120 BPM with a one-octave spread
(librosa's and Percival & Tzanetakis' prior; most popular music lies within an octave of
it). Its peaks are the candidate beat periods, each located to a fraction of a frame.

The metrical level then gets a second look, because a prior alone picks the eighth notes of
a slow melody whose quarter notes carry little energy (a 90 BPM trumpet loop read as 180)
or a dotted level of a swung groove: a candidate above ``FAST_BPM`` whose half tempo has a
clear tempogram peak of its own is halved. Whatever is not chosen but holds a comparable
share of the evidence is reported as an alternative (``87.0 BPM (or 174)``), and the
confidence is the chosen candidate's share of the evidence against the best rival outside
its own octave family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_BPM = 40.0
MAX_BPM = 240.0
PRIOR_CENTRE_BPM = 120.0
PRIOR_OCTAVES = 1.0
# Above this, a supported half tempo is taken as the beat. Drum and bass (170-178) stays as
# it is; at 160 every 150-160 BPM track flipped to half under a few percent of time-stretch
# (benchmarks/analysis_tempo_consistency.py).
FAST_BPM = 176.0
HALF_SUPPORT = 0.4  # ...when its tempogram peak is at least this fraction of the fast one's
ALTERNATIVE_SHARE = 0.5  # a rival at least this strong (prior included) is reported
CLOSE_CALL = 0.85  # a rival this close (prior included) is judged by its metrical grid
MORE_WEIGHT = 1.0  # weight of each further envelope's tempogram against the first
WIN_FRAMES = 384
WINDOW_STEP = 8  # librosa's tempogram window: 8.9 s at 43 frames/s


@dataclass(frozen=True)
class TempoEstimate:
    bpm: float
    confidence: float  # 0..1
    alternatives: tuple[float, ...]  # other plausible tempos, strongest first
    # The other octave (x2 or x1/2) and its evidence (prior included) as a share of the
    # chosen tempo's; (0, 0) when neither octave is a candidate.
    octave: tuple[float, float] = (0.0, 0.0)


def tempogram_profile(envelope: np.ndarray, fps: float) -> np.ndarray:
    """Mean local autocorrelation of the envelope, index = lag in frames, 1 at lag 0.

    librosa's tempogram (Hann-windowed 8.9 s frames, each autocorrelation scaled to 1 at lag
    0), hand-written only to take every 8th window: consecutive windows overlap by 99 %, so
    the mean is the same and a 5-minute track costs 1/8 of the FFTs.
    """
    win = int(min(WIN_FRAMES, max(8, len(envelope))))
    padded = np.pad(envelope.astype(np.float64), win // 2, mode="linear_ramp")
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::WINDOW_STEP]
    frames = frames * np.hanning(win + 1)[:-1]
    n = 1 << int(np.ceil(np.log2(2 * win)))
    spectrum = np.fft.rfft(frames, n, axis=1)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n, axis=1)[:, :win]
    peak = acf[:, :1]
    acf = np.divide(acf, peak, out=np.zeros_like(acf), where=peak > 1e-12)
    profile: np.ndarray = acf.mean(axis=0)
    return profile / profile[0] if profile[0] > 0 else profile


def _peaks(profile: np.ndarray, lo: int, hi: int) -> list[tuple[float, float]]:
    """(lag in fractional frames, height) of local maxima between lags lo and hi."""
    out = []
    for lag in range(max(lo, 1), min(hi, len(profile) - 2) + 1):
        a, b, c = profile[lag - 1], profile[lag], profile[lag + 1]
        if b > a and b >= c and b > 0:
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
            out.append((lag + float(np.clip(shift, -0.5, 0.5)), float(b)))
    return out


def _height_near(peaks: list[tuple[float, float]], lag: float, tolerance: float = 0.06) -> float:
    near = [h for p, h in peaks if abs(p / lag - 1) <= tolerance]
    return max(near, default=0.0)


def _prior(bpm: float) -> float:
    return float(np.exp(-0.5 * (np.log2(bpm / PRIOR_CENTRE_BPM) / PRIOR_OCTAVES) ** 2))


def _related(a: float, b: float) -> bool:
    """Same tempo or an octave apart (x2, x1/2) within 6 % (peaks of short excerpts are coarse)."""
    return any(abs(a / (b * f) - 1) <= 0.06 for f in (1.0, 2.0, 0.5))


def estimate_tempo(envelope: np.ndarray, fps: float, *more: np.ndarray) -> TempoEstimate | None:
    """The tempo of onset envelopes sampled at ``fps`` frames per second, or None.

    With several envelopes (the median and the mean flux over bands) their tempograms are
    averaged: the median hears broadband hits (kick, snare, chords), the mean also the
    narrow-band ones (hi-hats, bass notes) that often mark the faster metrical level.
    """
    if len(envelope) < 4 * fps or not np.any(envelope > 0):
        return None
    profiles = [tempogram_profile(e, fps) for e in (envelope, *more) if np.any(e > 0)]
    weights = [1.0] + [MORE_WEIGHT] * (len(profiles) - 1)
    profile = np.average(profiles, axis=0, weights=weights)
    lo = int(np.floor(60.0 * fps / MAX_BPM))
    hi = int(np.ceil(60.0 * fps / MIN_BPM))
    peaks = _peaks(profile, lo, hi)
    if not peaks:
        return None
    scored = sorted(((h * _prior(60.0 * fps / p), p, h) for p, h in peaks), reverse=True)
    best_score, best_lag, best_height = scored[0]
    close = next(
        (c for c in scored[1:] if not _related(60 * fps / c[1], 60 * fps / best_lag)), None
    )
    if close is not None and close[0] >= CLOSE_CALL * best_score:
        # Two unrelated periods (4:3, 3:2) explain the envelope about equally well, and the
        # prior alone would flip between them under a small tempo change. The grid whose
        # multiples (2 and 4 periods: half bar, bar) recur more strongly is the metrical one.
        def grid(lag: float) -> float:
            return float(
                np.interp(lag * np.array([1, 2, 4]), np.arange(len(profile)), profile).sum()
            )

        if grid(close[1]) > grid(best_lag):
            best_score, best_lag, best_height = close
    bpm = 60.0 * fps / best_lag
    if bpm > FAST_BPM:
        half = _height_near(peaks, 2 * best_lag)
        if half >= HALF_SUPPORT * best_height:
            bpm /= 2
            best_score = max(best_score, half * _prior(bpm))
    # Rivals: the other octave of the chosen tempo, and the strongest unrelated candidate.
    alternatives: list[tuple[float, float]] = []
    octave = (0.0, 0.0)
    for factor in (2.0, 0.5):
        other = bpm * factor
        if MIN_BPM <= other <= MAX_BPM:
            height = _height_near(peaks, 60.0 * fps / other)
            if height >= ALTERNATIVE_SHARE * best_height:
                alternatives.append((height * _prior(other), other))
                share = height * _prior(other) / best_score if best_score > 0 else 0.0
                if share > octave[1]:
                    octave = (other, share)
    rival = next(
        ((s, 60.0 * fps / p) for s, p, _ in scored if not _related(60 * fps / p, bpm)), None
    )
    if rival is not None and rival[0] >= ALTERNATIVE_SHARE * best_score:
        alternatives.append(rival)
    alternatives.sort(reverse=True)
    rival_score = rival[0] if rival is not None else 0.0
    confidence = float(np.clip(1.0 - rival_score / best_score, 0.0, 1.0)) if best_score > 0 else 0.0
    return TempoEstimate(float(bpm), confidence, tuple(float(b) for _, b in alternatives), octave)
