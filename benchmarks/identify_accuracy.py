"""Accuracy of ``cratebot id`` on generated DJ mixes (recall, precision, start error).

    python benchmarks/identify_accuracy.py [--mixes 3] [--minutes 20] [--unknown 2]
        [--audio FOLDER] [--club]

Indexes ``--audio`` (default ``../shared/audio``; a folder with a tracks.json,
e.g. one built by ``identify_music_folder.py``), minus ``--unknown`` held-out
tracks, which the mixes still play, into a temporary CrateBot home, generates
mixes with ``identify_mixgen.make_mix`` (40–100 s excerpts, vinyl/keylock
speeds in 0.92–1.08, 6–14 s crossfades, shelving EQ, noise, 128 kbit/s MP3;
with ``--club`` the club conditions: 25–70 s plays, sweeps and echo, double
drops, reverb, crowd noise, Opus 64 kbit/s) and scores the local recognizer's
tracklists. Prints indexing speed, recall, precision, start errors, the speeds
of missed plays, and wrong reports per hour of mix.
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
    parser.add_argument("--club", action="store_true", help="club conditions")
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args()
    sources = load_sources(args.audio)
    held, library = sources[: args.unknown], sources[args.unknown :]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp) / "home")
        t0 = time.perf_counter()
        index_paths(settings, [s.file for s in library], args.audio / "tracks.json")
        took = time.perf_counter() - t0
        lib_s = sum(s.duration_s for s in library)
        print(
            f"indexed {len(library)} tracks ({lib_s / 3600:.2f} h) in {took:.1f} s = "
            f"{lib_s / took:.0f}x real time"
        )
        scores, errors = [], []
        missed_speeds: list[float] = []
        mix_hours = 0.0
        for seed in range(args.first_seed, args.first_seed + args.mixes):
            mix, placed = make_mix(library, args.minutes, seed=seed, unknown=held, club=args.club)
            path = Path(tmp) / (f"mix{seed}.opus" if args.club else f"mix{seed}.mp3")
            write_mp3(mix, path, "64k" if args.club else "128k")
            mix_hours += len(mix) / 44100 / 3600
            t0 = time.perf_counter()
            result, _, _ = identify(str(path), settings, Path(tmp), ["local"], lambda f, t: None)
            took = time.perf_counter() - t0
            truth = [asdict(p) for p in placed]
            s = score(truth, result)
            scores.append(s)
            missed_speeds += [round(t["speed"], 3) for t in s["missed"]]
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
        wrong = reported - right
        print(
            f"wrong reports: {wrong:.0f} in {mix_hours:.2f} h of mix = "
            f"{wrong / max(mix_hours, 1e-9):.2f} per hour; speeds of missed plays: "
            f"{sorted(missed_speeds)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
