"""Tempo estimate for a loaded track, with numpy only (the Pi install has no librosa).

Spectral-flux onset envelope; the full analyser's tempo decision (mean local autocorrelation,
a log-normal preference around 120 BPM, close 4:3 / 3:2 calls settled by the duple grid, a
fast tempo with a supported half halved; see core/analysis/tempo.py), folded into the deck's
range; then a refinement of the period over many multiples of the beat so a steady track is
measured to a few hundredths of a BPM rather than to the envelope's frame resolution.
"""

from __future__ import annotations

import numpy as np

_ANALYSIS_RATE = 22050
_N_FFT = 512
_HOP = 128
_CHUNK_FRAMES = 4096
MIN_MEAN_FLUX = 2.5


_N_BANDS = 40
_DECIDE_FFT = 2048  # the metrical decision works on the full analyser's frames (~43 per s)
_DECIDE_HOP = 512


def _band_edges(n_bins: int, rate: float) -> np.ndarray:
    """Bin edges of ``_N_BANDS`` bands equally spaced in log frequency from 60 Hz to Nyquist."""
    hz = np.geomspace(60.0, rate / 2, _N_BANDS + 1)
    edges = np.unique(np.clip(np.round(hz / (rate / 2) * (n_bins - 1)).astype(int), 1, n_bins))
    return edges


def _envelopes(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(whole-spectrum flux with local mean removed, per-band log-power flux, frame rate).

    The whole-spectrum flux measures the period precisely; the per-band flux (log power
    80 dB under the loudest band, as in the full analyser) gives the median and mean over
    bands whose tempograms decide the metrical level.
    """
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
    return flux, _band_flux(x, rate), rate / _HOP


def _band_flux(x: np.ndarray, rate: float) -> np.ndarray:
    """Per-band log-power flux at the full analyser's frame (2048-sample window, hop 512).

    Bands equally spaced in log frequency stand in for its mel bands (no filterbank library
    on the Pi); log power is floored 80 dB under the loudest band, as librosa does.
    """
    frames = np.lib.stride_tricks.sliding_window_view(x, _DECIDE_FFT)[::_DECIDE_HOP]
    window = np.hanning(_DECIDE_FFT).astype(np.float32)
    edges = _band_edges(_DECIDE_FFT // 2 + 1, rate)
    band_db = np.empty((len(frames), len(edges) - 1), dtype=np.float32)
    for start in range(0, len(frames), _CHUNK_FRAMES):
        spec = np.abs(np.fft.rfft(frames[start : start + _CHUNK_FRAMES] * window, axis=1))
        power = np.add.reduceat(spec**2, edges[:-1], axis=1)[:, : len(edges) - 1]
        band_db[start : start + len(spec)] = 10.0 * np.log10(np.maximum(power, 1e-10))
    band_db = np.maximum(band_db, band_db.max() - 80.0)
    flux: np.ndarray = np.maximum(np.diff(band_db, axis=0, prepend=band_db[:1]), 0.0)
    return flux


def onset_envelope(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Half-wave rectified log-spectral flux and its frame rate in Hz."""
    flux, _, fps = _envelopes(mono, sample_rate)
    return flux, fps


def _autocorrelation(env: np.ndarray) -> np.ndarray:
    env = env - env.mean()
    n = 1 << int(np.ceil(np.log2(2 * len(env))))
    spec = np.fft.rfft(env, n)
    acf = np.fft.irfft(spec * np.conj(spec), n)[: len(env)]
    normalised: np.ndarray = acf / (acf[0] + 1e-12)
    return normalised


def _detrend(env: np.ndarray, fps: float) -> np.ndarray:
    """``env`` minus its 0.5 s running mean, half-wave rectified: onsets stand out of the
    noise floor that a coarse band spectrum keeps (the full analyser's envelope is sparse)."""
    width = max(1, int(fps * 0.5))
    kernel = np.ones(width) / width
    detrended: np.ndarray = np.maximum(env - np.convolve(env, kernel, mode="same"), 0.0)
    return detrended


def _tempogram_profile(env: np.ndarray, fps: float) -> np.ndarray:
    """Mean Hann-windowed local autocorrelation (8.9 s windows), 1 at lag 0.

    The same tempogram as the full analyser's (core/analysis/tempo.py); written again here
    because the Pi installs nothing of the bot. Every 8th window is enough for the mean.
    """
    win = int(min(len(env), max(8, round(8.9 * fps))))
    padded = np.pad(env.astype(np.float64), win // 2, mode="linear_ramp")
    step = max(1, win // 48)
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::step]
    frames = frames * np.hanning(win + 1)[:-1]
    n = 1 << int(np.ceil(np.log2(2 * win)))
    spec = np.fft.rfft(frames, n, axis=1)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2, n, axis=1)[:, :win]
    peak = acf[:, :1]
    acf = np.divide(acf, peak, out=np.zeros_like(acf), where=peak > 1e-12)
    profile: np.ndarray = acf.mean(axis=0)
    return profile / profile[0] if profile[0] > 0 else profile


def _peaks(profile: np.ndarray, lo: int, hi: int) -> list[tuple[float, float]]:
    """(fractional lag, height) of the local maxima of ``profile`` between lags lo and hi."""
    out = []
    for lag in range(max(lo, 1), min(hi, len(profile) - 2) + 1):
        a, b, c = profile[lag - 1], profile[lag], profile[lag + 1]
        if b > a and b >= c and b > 0:
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
            out.append((lag + float(np.clip(shift, -0.5, 0.5)), float(b)))
    return out


def _prior(bpm: float) -> float:
    return float(np.exp(-0.5 * np.log2(bpm / 120.0) ** 2))


def _choose_lag(profile: np.ndarray, fps: float) -> float | None:
    """Beat period (frames): the full analyser's decision (prior, close calls, fast halving)."""
    peaks = _peaks(profile, int(60.0 * fps / 240.0), int(np.ceil(60.0 * fps / 40.0)))
    if not peaks:
        return None
    scored = sorted(((h * _prior(60.0 * fps / p), p, h) for p, h in peaks), reverse=True)
    best_score, best_lag, best_height = scored[0]

    def related(a: float, b: float) -> bool:
        return any(abs(a / (b * f) - 1) <= 0.06 for f in (1.0, 2.0, 0.5))

    def grid(lag: float) -> float:
        return float(np.interp(lag * np.array([1, 2, 4]), np.arange(len(profile)), profile).sum())

    close = next((c for c in scored[1:] if not related(c[1], best_lag)), None)
    if close is not None and close[0] >= 0.85 * best_score and grid(close[1]) > grid(best_lag):
        best_score, best_lag, best_height = close
    if 60.0 * fps / best_lag > 176.0:  # core/analysis/tempo.py FAST_BPM
        half = max((h for p, h in peaks if abs(p / (2 * best_lag) - 1) <= 0.06), default=0.0)
        if half >= 0.4 * best_height:
            best_lag *= 2
    return best_lag


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
    env, band_flux, fps = _envelopes(excerpt, sample_rate)
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
    coarse_fps = fps * _HOP / _DECIDE_HOP
    profile = (
        _tempogram_profile(_detrend(np.median(band_flux, axis=1), coarse_fps), coarse_fps)
        + _tempogram_profile(_detrend(band_flux.mean(axis=1), coarse_fps), coarse_fps)
    ) / 2
    coarse_lag = _choose_lag(profile, coarse_fps)
    lag = None if coarse_lag is None else coarse_lag * _DECIDE_HOP / _HOP
    if lag is None or acf[int(round(lag))] <= 0 and acf[min_lag : max_lag + 1].max() <= 0:
        raise ValueError("no steady beat found; cannot analyse the tempo (give the BPM instead)")
    # Fold into the deck's range by octaves.
    while lag < min_lag:
        lag *= 2
    while lag > max_lag:
        lag /= 2
    lag = _refine_period(acf, lag)
    # Evenly spaced clicks correlate as well at two beats as at one, and the prior then
    # picks half the tempo; a peak at half the lag as strong as the beat's means the faster
    # one is the beat (strummed eighths reach ~90 % of it and stay eighths).
    if lag / 2.0 >= min_lag and _acf_at(acf, lag / 2.0) >= 0.95 * _acf_at(acf, lag):
        lag = _refine_period(acf, lag / 2.0)
    return 60.0 * fps / lag


def _acf_at(acf: np.ndarray, lag: float) -> float:
    """The acf summed over +-1 frame around ``lag`` (peaks straddle envelope frames)."""
    centre = int(round(lag))
    return float(acf[max(0, centre - 1) : centre + 2].sum())


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
