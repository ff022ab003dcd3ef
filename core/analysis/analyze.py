"""Analyse one audio file: BPM, beats, downbeats, key, segments, loudness.

The file is decoded once, at 22.05 kHz, in blocks (constant memory whatever its
length); everything after that works on small per-frame summaries.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from core.analysis.beats import track_beats
from core.analysis.features import SAMPLE_RATE, Features, FeatureStream
from core.analysis.keys import estimate_key, fold_chroma36
from core.analysis.model import TrackAnalysis
from core.analysis.segments import segment_track
from core.audio import decode_blocks, probe_audio
from core.errors import BadInput
from storage.files import sha256_file

MIN_DURATION_S = 4.0
BLOCK_FRAMES = 1 << 17  # 5.9 s at 22.05 kHz

ProgressFn = Callable[[float, str], None]


def _prefetch(blocks: Iterator[np.ndarray], depth: int = 4) -> Iterator[np.ndarray]:
    """Read the decoder on a thread, so ffmpeg decodes while the features are computed.

    The pipe from ffmpeg holds only 64 KiB; without a reader ahead of the consumer,
    decoding and analysis would take turns instead of running on both cores.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def pump() -> None:
        try:
            for block in blocks:
                if stop.is_set():
                    break
                slots.put(block)
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(exc)
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                close()  # stops ffmpeg at once when the consumer gave up early
            slots.put(done)

    thread = threading.Thread(target=pump, name="decode-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                slots.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


def extract_features(
    path: Path, duration_hint: float, progress: ProgressFn | None = None
) -> Features:
    stream = FeatureStream(channels=2)
    done = 0
    for block in _prefetch(decode_blocks(path, SAMPLE_RATE, 2, BLOCK_FRAMES)):
        stream.add(block)
        done += len(block)
        if progress is not None and duration_hint > 0:
            progress(min(0.9, 0.9 * done / SAMPLE_RATE / duration_hint), "analysing")
    return stream.finish()


def analyze_features(features: Features, path: str, sha256: str | None = None) -> TrackAnalysis:
    grid = track_beats(features)
    profile, cents = fold_chroma36(features.key_chroma36.astype(np.float64).sum(axis=1))
    key = estimate_key(profile, cents)
    segments = segment_track(features, grid, features.duration_s)
    return TrackAnalysis(
        path=path,
        duration=features.duration_s,
        bpm=None if grid is None else float(grid.bpm),
        bpm_confidence=None if grid is None else float(grid.confidence),
        bpm_alternatives=[] if grid is None else [float(b) for b in grid.alternatives],
        beats=[] if grid is None else [float(t) for t in grid.beats],
        downbeats=[] if grid is None else [float(t) for t in grid.downbeats],
        beat_positions=[] if grid is None else [int(p) for p in grid.positions],
        segments=segments,
        key=None if key is None else key.key.name,
        camelot=None if key is None else key.key.camelot,
        key_confidence=None if key is None else key.confidence,
        tuning_cents=None if key is None else key.tuning_cents,
        loudness_lufs=features.loudness_lufs,
        peak_dbfs=20 * math.log10(features.peak) if features.peak > 0 else None,
        sha256=sha256,
    )


def analyze_track(
    path: str | Path,
    progress: ProgressFn | None = None,
    max_duration_s: float | None = None,
    max_bytes: int | None = None,
    sha256: str | None = None,
) -> TrackAnalysis:
    """Validate ``path`` as audio of a usable length and analyse it.

    ``sha256``: the content hash when the caller already computed it (for a cache lookup).
    """
    path = Path(path).expanduser().resolve()
    info = probe_audio(path, max_duration_s, max_bytes)
    if info.duration_s < MIN_DURATION_S:
        raise BadInput(
            f"{path.name}: {info.duration_s:.1f} s is too short to analyse "
            f"(at least {MIN_DURATION_S:.0f} s needed)"
        )
    sha = sha256 or sha256_file(path)
    features = extract_features(path, info.duration_s, progress)
    if features.duration_s < MIN_DURATION_S:
        raise BadInput(
            f"{path.name}: only {features.duration_s:.1f} s of audio could be decoded "
            f"(at least {MIN_DURATION_S:.0f} s needed)"
        )
    if features.peak <= 1e-5:
        raise BadInput(f"{path.name}: the audio is silent")
    analysis = analyze_features(features, str(path), sha)
    if progress is not None:
        progress(1.0, "analysed")
    return analysis


def analyze_array(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, path: str = "<array>"
) -> TrackAnalysis:
    """Analyse audio already in memory, ``(frames,)`` or ``(frames, channels)``.

    For tests and benchmarks; files go through :func:`analyze_track`, which streams.
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"analyze_array expects {SAMPLE_RATE} Hz audio")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    stream = FeatureStream(channels=audio.shape[1])
    for start in range(0, len(audio), BLOCK_FRAMES):
        stream.add(audio[start : start + BLOCK_FRAMES])
    return analyze_features(stream.finish(), path)
