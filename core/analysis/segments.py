"""Song structure at bar level: boundaries by novelty, labels by position and energy.

Each bar (downbeat to downbeat) is summarised by its coarse band energies and
chroma; a checkerboard kernel slid along the bar self-similarity matrix (Foote's
novelty) scores each downbeat as a boundary, and boundaries on 4- and 8-bar
phrase lines are preferred, as dance music is built in phrases. The first segment
is the intro and the last the outro; a middle segment clearly quieter than the
track is a break, the rest are ``main``. Labels beyond that (verse, chorus) would
need a trained model, which this analysis deliberately does without.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from core.analysis.beats import BeatGrid, _beat_sync
from core.analysis.features import Features

KERNEL_BARS = 4  # half-width of the novelty kernel
MIN_SEGMENT_BARS = 4
BREAK_DB = 3.0  # a break is this much quieter than the track's median bar
INTRO_MAX_SHARE = 0.4
PHRASES_PER_SEGMENT = 2  # a typical segment spans two 8-bar phrases  # an intro (or outro) longer than this share of the bars is not one


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    label: str

    def as_dict(self) -> dict[str, float | str]:
        return {"start": round(self.start, 4), "end": round(self.end, 4), "label": self.label}


def bar_features(
    features: Features, downbeats: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar feature matrix (bars, dims) and per-bar loudness (dB, summed bands)."""
    edges = np.concatenate([downbeats, [duration]])
    bands = _beat_sync(features.band_db.astype(np.float64), features.frame_times, edges)
    power = 10 ** (features.band_db.astype(np.float64) / 10)
    level = 10 * np.log10(
        _beat_sync(power.sum(axis=0, keepdims=True), features.frame_times, edges)[0] + 1e-10
    )
    chroma12 = features.chroma36.reshape(12, 3, -1).sum(axis=1)
    chroma12 = librosa.util.normalize(chroma12 + 1e-9, norm=1, axis=0)
    chroma = (
        _beat_sync(chroma12, features.chroma_times, edges)
        if chroma12.shape[1]
        else np.zeros((12, len(downbeats)))
    )
    matrix = np.concatenate([bands, chroma * 12], axis=0).T
    sd = matrix.std(axis=0)
    matrix = (matrix - matrix.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0)
    return matrix, level


def novelty(matrix: np.ndarray, half: int = KERNEL_BARS) -> np.ndarray:
    """Foote novelty per bar index (a boundary before bar i), Gaussian-tapered kernel."""
    n = len(matrix)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms > 1e-9, norms, 1.0)
    ssm = unit @ unit.T
    offsets = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (offsets / (half * 0.6)) ** 2)
    sign = np.sign(offsets)
    kernel = np.outer(sign * taper, sign * taper)
    out = np.zeros(n)
    for i in range(1, n):
        rows = np.arange(i - half, i + half)
        valid = (rows >= 0) & (rows < n)
        if valid.sum() < 2 * half * 0.75:
            continue
        idx = rows[valid]
        k = kernel[np.ix_(valid, valid)]
        out[i] = float((ssm[np.ix_(idx, idx)] * k).sum() / np.abs(k).sum())
    return out


def _phrase_weight(bar: int) -> float:
    if bar % 8 == 0:
        return 1.0
    if bar % 4 == 0:
        return 0.85
    return 0.6


def pick_boundaries(
    curve: np.ndarray, min_gap: int = MIN_SEGMENT_BARS, max_segments: int | None = None
) -> list[int]:
    """Bar indices of boundaries: phrase-weighted novelty peaks, at least ``min_gap`` apart,
    the strongest first, at most one per ``PHRASES_PER_SEGMENT`` phrases on average."""
    n = len(curve)
    if n < 2 * min_gap:
        return []
    limit = max_segments if max_segments is not None else max(2, n // (8 * PHRASES_PER_SEGMENT))
    threshold = curve.mean() + 0.5 * curve.std()
    candidates = []
    for i in range(min_gap, n - min_gap + 1):
        lo, hi = max(0, i - 2), min(n, i + 3)
        if curve[i] >= curve[lo:hi].max() and curve[i] > threshold:
            candidates.append((curve[i] * _phrase_weight(i), i))
    chosen: list[int] = []
    for _score, i in sorted(candidates, reverse=True):
        if len(chosen) >= limit - 1:
            break
        if all(abs(i - j) >= min_gap for j in chosen):
            chosen.append(i)
    return sorted(chosen)


def _energy_start(level: np.ndarray, reverse: bool = False) -> int | None:
    """First bar (in 4-bar steps) from which four bars reach the track's typical level."""
    n = len(level)
    target = float(np.median(level)) - 1.0
    series = level[::-1] if reverse else level
    for b in range(4, int(n * INTRO_MAX_SHARE) + 1, 4):
        if series[b : b + 4].mean() >= target and series[:b].mean() < target:
            return n - b if reverse else b
    return None


def segment_track(features: Features, grid: BeatGrid | None, duration: float) -> list[Segment]:
    """Segments covering ``[0, duration]``; a single ``main`` one when there is no beat grid."""
    if grid is None or len(grid.downbeats) < 2 * MIN_SEGMENT_BARS:
        return [Segment(0.0, duration, "main")]
    downbeats = np.asarray(grid.downbeats, dtype=np.float64)
    matrix, level = bar_features(features, downbeats, duration)
    bounds = pick_boundaries(novelty(matrix))
    n = len(downbeats)
    limit = int(n * INTRO_MAX_SHARE)
    intro = next((b for b in bounds if b <= limit), None) or _energy_start(level)
    outro = next((b for b in reversed(bounds) if b >= n - limit), None)
    outro = outro or _energy_start(level, reverse=True)
    if intro is not None:
        bounds = [b for b in bounds if b >= intro + MIN_SEGMENT_BARS or b == intro]
        bounds = sorted(set(bounds) | {intro})
    if outro is not None and (intro is None or outro >= intro + MIN_SEGMENT_BARS):
        bounds = sorted(
            {b for b in bounds if b <= outro - MIN_SEGMENT_BARS or b == outro} | {outro}
        )
    edges = [0.0] + [float(downbeats[b]) for b in bounds] + [duration]
    median = float(np.median(level))
    segments: list[Segment] = []
    bar_edges = [0, *bounds, n]
    for i in range(len(edges) - 1):
        if i == 0 and intro is not None and bounds and bounds[0] == intro:
            label = "intro"
        elif i == len(edges) - 2 and outro is not None and bounds and bounds[-1] == outro:
            label = "outro"
        else:
            bars = level[bar_edges[i] : bar_edges[i + 1]]
            quiet = bars.size and float(np.mean(bars)) < median - BREAK_DB
            label = "break" if quiet else "main"
        segments.append(Segment(edges[i], edges[i + 1], label))
    return segments
