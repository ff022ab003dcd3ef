"""Tempo estimate for a loaded track, with numpy only (the Pi install has no librosa).

Spectral-flux onset envelope, autocorrelation, a log-normal preference around 120 BPM
to pick the octave (as librosa's ``beat_track`` does), then a refinement of the period
over many multiples of the beat so a steady track is measured to a few hundredths of
a BPM rather than to the envelope's frame resolution.
"""

from __future__ import annotations

import numpy as np

_ANALYSIS_RATE = 22050
_N_FFT = 512
_HOP = 128
_CHUNK_FRAMES = 4096
MIN_MEAN_FLUX = 2.5


def onset_envelope(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Half-wave rectified log-spectral flux and its frame rate in Hz."""
    step = max(1, round(sample_rate / _ANALYSIS_RATE))
    x = np.asarray(mono, dtype=np.float32)
    if step > 1:
        usable = len(x) // step * step
        x = x[:usable].reshape(-1, step).mean(axis=1)
    rate = sample_rate / step
    if len(x) < _N_FFT * 4:
        raise ValueError("track too short to analyse its tempo (under a second)")
    frames = np.lib.stride_tricks.sliding_window_view(x, _N_FFT)[::_HOP]
    window = np.hanning(_N_FFT).astype(np.float32)
    flux = np.empty(len(frames), dtype=np.float32)
    prev: np.ndarray | None = None
    # Chunked so a long track never needs the whole spectrogram in memory at once.
    for start in range(0, len(frames), _CHUNK_FRAMES):
        spec = np.abs(np.fft.rfft(frames[start : start + _CHUNK_FRAMES] * window, axis=1))
        logspec = np.log1p(100.0 * spec).astype(np.float32)
        stacked = logspec if prev is None else np.vstack([prev, logspec])
        diff = np.maximum(np.diff(stacked, axis=0), 0.0).sum(axis=1)
        if prev is None:
            flux[0] = 0.0
            flux[1 : len(logspec)] = diff
        else:
            flux[start : start + len(logspec)] = diff
        prev = logspec[-1:]
    # Subtract a local mean so slow loudness changes do not read as periodicity.
    width = max(1, int(rate / _HOP * 0.5))
    kernel = np.ones(width, dtype=np.float32) / width
    flux = np.maximum(flux - np.convolve(flux, kernel, mode="same"), 0.0)
    return flux, rate / _HOP


def _autocorrelation(env: np.ndarray) -> np.ndarray:
    env = env - env.mean()
    n = 1 << int(np.ceil(np.log2(2 * len(env))))
    spec = np.fft.rfft(env, n)
    acf = np.fft.irfft(spec * np.conj(spec), n)[: len(env)]
    return acf / (acf[0] + 1e-12)


def estimate_bpm(
    mono: np.ndarray,
    sample_rate: int,
    min_bpm: float = 70.0,
    max_bpm: float = 180.0,
    max_seconds: float = 120.0,
) -> float:
    """Tempo of ``mono`` in BPM. Raises ``ValueError`` when no periodicity is found."""
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    excerpt = np.asarray(mono[: int(max_seconds * sample_rate)], dtype=np.float32)
    peak = float(np.max(np.abs(excerpt))) if len(excerpt) else 0.0
    if peak > 0.0:
        excerpt = excerpt / peak  # the flux threshold below must not depend on the level
    env, fps = onset_envelope(excerpt, sample_rate)
    if not np.any(env > 0):
        raise ValueError("no onsets found; cannot analyse the tempo (give the BPM instead)")
    # A steady tone, pad or drone still has a faint, regular flux (window leakage) that
    # autocorrelates well; real music of every kind in the test set has a mean flux
    # above 3.6 at full scale, steady tones and pads under 1.6.
    if float(env.mean()) < MIN_MEAN_FLUX:
        raise ValueError(
            "no onsets strong enough to find a beat (a pad or drone?); cannot analyse "
            "the tempo (give the BPM instead)"
        )
    acf = _autocorrelation(env)
    min_lag = int(np.floor(60.0 * fps / max_bpm))
    max_lag = int(np.ceil(60.0 * fps / min_bpm))
    if max_lag * 3 >= len(acf):
        raise ValueError("track too short to analyse its tempo (needs a few beats)")
    lags = np.arange(min_lag, max_lag + 1)
    bpms = 60.0 * fps / lags
    prior = np.exp(-0.5 * (np.log2(bpms / 120.0) / 1.0) ** 2)
    score = acf[lags] * prior
    best_lag = float(lags[int(np.argmax(score))])
    if score.max() <= 0:
        raise ValueError("no steady beat found; cannot analyse the tempo (give the BPM instead)")
    # Evenly spaced clicks correlate as well at two beats as at one, and the prior then
    # picks half the tempo; a strong peak at half the lag means the faster one is the beat.
    half = best_lag / 2.0
    # Peaks straddle envelope frames, so compare the acf summed over +-1 frame.
    at_half = acf[int(round(half)) - 1 : int(round(half)) + 2].sum()
    at_best = acf[int(best_lag) - 1 : int(best_lag) + 2].sum()
    if half >= min_lag and at_half >= 0.8 * at_best:
        best_lag = float(lags[np.argmin(np.abs(lags - half))])
    return 60.0 * fps / _refine_period(acf, best_lag)


def _refine_period(acf: np.ndarray, lag: float) -> float:
    """Period (in frames) near ``lag`` that best lines up with acf peaks at its multiples."""
    multiples = np.arange(1, max(2, min(32, int((len(acf) // 2) / lag))) + 1)
    candidates = np.linspace(lag - 1.5, lag + 1.5, 301)
    positions = candidates[:, None] * multiples[None, :]
    positions = positions[:, positions.max(axis=0) < len(acf) - 1]
    if positions.shape[1] == 0:
        return lag
    scores = np.interp(positions, np.arange(len(acf)), acf).sum(axis=1)
    return float(candidates[int(np.argmax(scores))])
