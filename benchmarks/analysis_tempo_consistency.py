"""Tempo consistency: does the estimated BPM follow a known time-stretch?

For every track in ../shared/audio (or the folder given), a 60 s excerpt from the
middle is analysed as is and after Rubber Band time-stretching by each factor
(pitch kept). A track counts as steady-beat when at least 90 % of its tracked
inter-beat intervals lie within 5 % of the fitted period. For each stretched
version the ratio bpm(stretched) / bpm(original) should equal the factor within
1 %; a ratio near 2, 1/2, 3/2, 2/3, 3 or 1/3 of it is counted as an octave error.

    python benchmarks/analysis_tempo_consistency.py [AUDIO_DIR] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pedalboard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.analysis.analyze import analyze_array  # noqa: E402
from core.analysis.features import SAMPLE_RATE  # noqa: E402
from core.audio import decode_array, probe_audio  # noqa: E402

FACTORS = (0.92, 0.96, 1.04, 1.08)
OCTAVES = (2.0, 0.5, 1.5, 2 / 3, 3.0, 1 / 3)


def steadiness(beats: list[float], bpm: float | None) -> float:
    if bpm is None or len(beats) < 8:
        return 0.0
    period = 60.0 / bpm
    intervals = np.diff(beats)
    return float(np.mean(np.abs(intervals - period) < 0.05 * period))


def classify(ratio: float, factor: float) -> str:
    rel = ratio / factor
    if abs(rel - 1) <= 0.01:
        return "ok"
    if any(abs(rel / o - 1) <= 0.02 for o in OCTAVES):
        return "octave"
    return "off"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio_dir", nargs="?", default=str(ROOT.parent / "shared" / "audio"))
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    folder = Path(args.audio_dir)
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in {".ogg", ".mp3", ".wav", ".flac"}
    )
    if not files:
        print(f"no audio in {folder}")
        return 1
    totals = {"ok": 0, "octave": 0, "off": 0}
    rows = []
    t0 = time.perf_counter()
    for path in files:
        info = probe_audio(path)
        length = min(args.seconds, info.duration_s)
        start = max(0.0, (info.duration_s - length) / 2)
        mono = decode_array(path, SAMPLE_RATE, 1, start_s=start, duration_s=length)[:, 0]
        base = analyze_array(mono, path=path.name)
        steady = steadiness(base.beats, base.bpm)
        if base.bpm is None or steady < 0.9:
            print(
                f"{path.name:55s} skipped (not steady-beat: bpm={base.bpm}, steadiness={steady:.2f})"
            )
            rows.append({"file": path.name, "steady": False, "bpm": base.bpm})
            continue
        results = []
        for factor in FACTORS:
            stretched = pedalboard.time_stretch(mono[None, :], SAMPLE_RATE, stretch_factor=factor)[
                0
            ]
            other = analyze_array(stretched, path=path.name)
            ratio = (other.bpm or 0.0) / base.bpm
            verdict = classify(ratio, factor)
            totals[verdict] += 1
            results.append({"factor": factor, "bpm": other.bpm, "ratio": ratio, "verdict": verdict})
        line = "  ".join(
            f"{r['factor']:.2f}:{r['ratio'] / r['factor']:.4f}{'' if r['verdict'] == 'ok' else '!' + r['verdict']}"
            for r in results
        )
        print(f"{path.name:55s} bpm={base.bpm:7.2f} steady={steady:.2f}  {line}")
        rows.append({"file": path.name, "steady": True, "bpm": base.bpm, "results": results})
    checked = sum(totals.values())
    steady_tracks = sum(1 for r in rows if r["steady"])
    print()
    print(f"steady-beat tracks: {steady_tracks}/{len(files)}; stretched versions: {checked}")
    print(
        f"within 1 %: {totals['ok']}/{checked}  octave errors: {totals['octave']}  "
        f"other errors: {totals['off']}  ({time.perf_counter() - t0:.0f} s)"
    )
    print(json.dumps({"totals": totals, "tracks": len(files), "steady": steady_tracks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
