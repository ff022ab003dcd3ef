"""Audio callback CPU per block: playing decks, each method, 256/512/1024 frames, EQ on/off.

    python benchmarks/realtime_callback.py [--seconds 20] [--audio-dir ../shared/audio]
    python benchmarks/realtime_callback.py --eq-only     # just the EQ table (256 frames)

Prints p50/p99/max callback time in ms and as a fraction of the block's duration
(the budget: above 1.0 the sound card underruns). Uses real tracks from the shared
audio folder when present, synthetic music otherwise. The tempo ramps 120 -> 126 BPM
during the run so the rate changes every block. The EQ table plays 2 and 4 decks at
256 frames with every deck's EQ engaged (low cut, highs +3 dB, and the mid band swept
every 50 ms so the gain glide is always running), against the same decks with EQ off.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from realtime.engine import Cmd, Engine
from realtime.stretch import rubberband_status
from realtime.track import Track, build_track, decode

SR = 44100


def synthetic(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 440 * t)
    beat = (np.mod(t, 0.5) < 0.02) * rng.normal(0, 0.3, len(t))
    y = (x + beat).astype(np.float32)
    return np.stack([y, np.roll(y, 100)], axis=1)


def tracks(audio_dir: Path, seconds: float, count: int = 2) -> list[Track]:
    files = sorted(audio_dir.glob("*.ogg"))[:count] if audio_dir.is_dir() else []
    if len(files) == count:
        print(f"tracks: {', '.join(f.name for f in files)}")
        return [build_track(f.name, decode(f, SR)[: int(seconds * SR)], SR, 120.0) for f in files]
    print("tracks: synthetic (shared audio folder not found)")
    return [build_track(f"syn{i}", synthetic(seconds, i), SR, 120.0) for i in range(count)]


def measure(
    method: str, block: int, decks: list[Track], seconds: float, eq: bool = False
) -> np.ndarray:
    return measure_both(method, block, decks, seconds, eq)[0]


def measure_both(
    method: str, block: int, decks: list[Track], seconds: float, eq: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and CPU (this thread's) seconds per block. On a busy machine the wall
    figures include time spent descheduled; the CPU figures are the callback's own cost."""
    engine = Engine(SR, block, method=method)
    for i, track in enumerate(decks):
        engine.commands.post(Cmd.LOAD, i, payload=track)
        if eq:
            engine.commands.post(Cmd.EQ, i, 0.0, 0.1)  # lows -20 dB
            engine.commands.post(Cmd.EQ, i, 2.0, 1.41)  # highs +3 dB
    engine.commands.post(Cmd.START_GROUP, 0, float((1 << len(decks)) - 1))
    engine.commands.post(Cmd.BPM, 0, 126.0, seconds)
    out = np.zeros((block, 2), np.float32)
    for _ in range(50):  # warm-up: caches, first WSOLA frames
        engine.process(out)
    n = int(seconds * SR / block)
    sweep_every = max(1, int(0.05 * SR / block))
    times = np.empty(n)
    cpu = np.empty(n)
    for i in range(n):
        if eq and i % sweep_every == 0:
            for d in range(len(decks)):  # keep every mid band gliding
                engine.commands.post(Cmd.EQ, d, 1.0, 0.5 + 0.5 * ((i // sweep_every) % 2))
        c0 = time.thread_time_ns()
        t0 = time.perf_counter()
        engine.process(out)
        times[i] = time.perf_counter() - t0
        cpu[i] = (time.thread_time_ns() - c0) / 1e9
    assert engine.callback_errors == 0, engine.last_error
    return times, cpu


def eq_table(audio_dir: Path, seconds: float, methods: list[str]) -> None:
    block = 256
    budget = block / SR * 1000.0
    four = tracks(audio_dir, seconds + 10, 4)
    print(f"\nEQ at {block} frames (budget {budget:.2f} ms)")
    print(
        f"{'method':14s} {'decks':>5s} {'eq':>3s} {'p50 ms':>8s} {'p99 ms':>8s} "
        f"{'max ms':>8s} {'p99 frac':>8s} {'cpu p50':>8s} {'cpu p99':>8s} {'cpu frac':>8s}"
    )
    for method in methods:
        for count in (2, 4):
            for eq in (False, True):
                wall, cpu = measure_both(method, block, four[:count], seconds, eq)
                times, cpu = wall * 1000.0, cpu * 1000.0
                p50, p99 = np.percentile(times, [50, 99])
                c50, c99 = np.percentile(cpu, [50, 99])
                print(
                    f"{method:14s} {count:5d} {'on' if eq else 'off':>3s} {p50:8.3f} "
                    f"{p99:8.3f} {times.max():8.3f} {p99 / budget:8.1%} {c50:8.3f} "
                    f"{c99:8.3f} {c99 / budget:8.1%}"
                )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="audio seconds per measurement")
    ap.add_argument(
        "--audio-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "audio"
    )
    ap.add_argument("--eq-only", action="store_true", help="only the EQ table")
    ns = ap.parse_args()
    methods = ["playback_rate", "wsola"] + (["rubberband"] if rubberband_status()[0] else [])
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}"
    )
    if ns.eq_only:
        eq_table(ns.audio_dir, ns.seconds, methods)
        return 0
    decks = tracks(ns.audio_dir, ns.seconds + 10)
    print(
        f"{'method':14s} {'block':>5s} {'budget ms':>9s} {'p50 ms':>8s} {'p99 ms':>8s} "
        f"{'max ms':>8s} {'p50 frac':>8s} {'p99 frac':>8s}"
    )
    for method in methods:
        for block in (256, 512, 1024):
            times = measure(method, block, decks, ns.seconds) * 1000.0
            budget = block / SR * 1000.0
            p50, p99 = np.percentile(times, [50, 99])
            print(
                f"{method:14s} {block:5d} {budget:9.2f} {p50:8.3f} {p99:8.3f} {times.max():8.3f} "
                f"{p50 / budget:8.1%} {p99 / budget:8.1%}"
            )
    eq_table(ns.audio_dir, ns.seconds, methods)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
