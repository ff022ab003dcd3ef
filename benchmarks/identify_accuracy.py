"""Accuracy of ``cratebot id`` on generated DJ mixes (recall, precision, start error).

    python benchmarks/identify_accuracy.py [--mixes 3] [--minutes 20] [--unknown 2]

Indexes ``../shared/audio`` (minus ``--unknown`` held-out tracks, which the mixes
still play) into a temporary CrateBot home, generates mixes with
``identify_mixgen.make_mix`` (40–100 s excerpts, vinyl/keylock speeds in
0.92–1.08, 6–14 s crossfades, shelving EQ, noise, 128 kbit/s MP3) and scores
the local recognizer's tracklists.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.identify_mixgen import load_sources, make_mix, score, write_mp3  # noqa: E402
from core.identify.job import identify  # noqa: E402
from core.identify.library import index_paths  # noqa: E402
from core.settings import load_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mixes", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--unknown", type=int, default=2)
    parser.add_argument("--audio", type=Path, default=ROOT.parent / "shared" / "audio")
    args = parser.parse_args()
    sources = load_sources(args.audio)
    held, library = sources[: args.unknown], sources[args.unknown :]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp) / "home")
        index_paths(settings, [s.file for s in library], args.audio / "tracks.json")
        scores, errors = [], []
        for seed in range(1, args.mixes + 1):
            mix, placed = make_mix(library, args.minutes, seed=seed, unknown=held)
            path = Path(tmp) / f"mix{seed}.mp3"
            write_mp3(mix, path)
            t0 = time.perf_counter()
            result, _, _ = identify(str(path), settings, Path(tmp), ["local"], lambda f, t: None)
            took = time.perf_counter() - t0
            truth = [asdict(p) for p in placed]
            s = score(truth, result)
            scores.append(s)
            print(
                f"mix {seed}: {args.minutes:.0f} min, {s['known']} known excerpts "
                f"({len(truth) - s['known']} unknown): recall {s['recall']:.3f} "
                f"precision {s['precision']:.3f} median start error "
                f"{s['median_start_error_s']} s (max {s['max_start_error_s']}) "
                f"in {took:.1f} s"
            )
            for t in truth:
                if not t["known"]:
                    covered = [
                        r
                        for r in result["tracks"]
                        if r["title"] is None
                        and r["start"] <= t["start"] + 15
                        and r["end"] >= t["end"] - 15
                    ]
                    errors.append(bool(covered))
        found = sum(s["found"] for s in scores)
        known = sum(s["known"] for s in scores)
        right = sum(s["reported"] * s["precision"] for s in scores)
        reported = sum(s["reported"] for s in scores)
        print(
            f"TOTAL recall {found / known:.3f} ({found}/{known}), precision "
            f"{right / max(reported, 1):.3f}, median start error "
            f"{statistics.median(s['median_start_error_s'] for s in scores):.2f} s, "
            f"unknown stretches reported as unknown: {sum(errors)}/{len(errors)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
