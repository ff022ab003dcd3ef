"""Accuracy of ``cratebot id`` on generated DJ mixes (recall, precision, start error).

    python benchmarks/identify_accuracy.py [--mixes 3] [--minutes 20] [--unknown 2]
        [--audio FOLDER] [--club] [--cache DIR]

Indexes ``--audio`` (default ``../shared/audio``; a folder with a tracks.json,
e.g. one built by ``identify_music_folder.py``), minus ``--unknown`` held-out
tracks, which the mixes still play, into a CrateBot home, generates mixes with
``identify_mixgen.make_mix`` (40–100 s excerpts, vinyl/keylock speeds in
0.92–1.08, 6–14 s crossfades, shelving EQ, noise, 128 kbit/s MP3; with
``--club`` the club conditions: 25–70 s plays, sweeps and echo, double drops,
reverb, crowd noise, Opus 64 kbit/s) and scores the local recognizer's
tracklists. Prints indexing speed, recall, precision, start errors (median of
all found plays, and signed: > 0 is late, also per transition), recall by speed, mode, transition
and play length, the missed and the wrong reports, and wrong reports per hour
of mix.

``--cache DIR`` keeps the indexed home (reused while the library's files are
the same) and the generated mixes (per folder, seed, length and mode) in DIR,
so a 10-hour library is indexed once, not on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.identify_mixgen import (  # noqa: E402
    Source,
    load_sources,
    make_mix,
    score,
    write_mp3,
)
from core.identify.job import identify  # noqa: E402
from core.identify.library import index_paths  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402


def _library_home(cache: Path, audio: Path, library: list[Source]) -> tuple[Settings, bool]:
    """A home for this library under ``cache``; True when it is already indexed."""
    listing = sorted(f"{s.file.name}:{s.file.stat().st_size}" for s in library)
    key = hashlib.sha1("\n".join([str(audio.resolve()), *listing]).encode()).hexdigest()[:12]
    home = cache / f"home-{key}"
    done = (home / "benchmark-indexed").is_file()
    return load_settings(home=home), done


def _mix(
    cache: Path, args: argparse.Namespace, seed: int, library: list[Source], held: list[Source]
) -> tuple[Path, list[dict[str, Any]], float]:
    """The mix file, its truth and its length in hours, generated once per cache."""
    # "audible": mixes since excerpts skip a track's silent stretches (mixgen._excerpt).
    key = f"{args.audio.resolve()}|{args.minutes}|{seed}|{args.unknown}|{args.club}|audible"
    stem = cache / f"mix-{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    path = stem.with_suffix(".opus" if args.club else ".mp3")
    truth_file = stem.with_suffix(".json")
    if not (path.is_file() and truth_file.is_file()):
        mix, placed = make_mix(library, args.minutes, seed=seed, unknown=held, club=args.club)
        write_mp3(mix, path, "64k" if args.club else "128k")
        truth_file.write_text(
            json.dumps({"hours": len(mix) / 44100 / 3600, "tracks": [asdict(p) for p in placed]})
        )
    data = json.loads(truth_file.read_text())
    return path, data["tracks"], float(data["hours"])


def _categories(t: dict[str, Any]) -> list[str]:
    dev = abs(t["speed"] - 1.0)
    speed = "speed <2%" if dev < 0.02 else "speed 2-5%" if dev < 0.05 else "speed 5-8%"
    length = t["end"] - t["start"]
    size = "play <40s" if length < 40 else "play 40-70s" if length < 70 else "play >=70s"
    return [speed, t["mode"], t.get("transition", "crossfade"), size]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mixes", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--unknown", type=int, default=2)
    parser.add_argument("--audio", type=Path, default=ROOT.parent / "shared" / "audio")
    parser.add_argument("--club", action="store_true", help="club conditions")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument(
        "--cache", type=Path, help="keep the indexed library and the mixes here between runs"
    )
    parser.add_argument("--verbose", action="store_true", help="list missed and wrong plays")
    args = parser.parse_args()
    sources = load_sources(args.audio)
    held, library = sources[: args.unknown], sources[args.unknown :]
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        cache.mkdir(parents=True, exist_ok=True)
        settings, indexed = _library_home(cache, args.audio, library)
        lib_s = sum(s.duration_s for s in library)
        if indexed:
            print(f"library: {len(library)} tracks ({lib_s / 3600:.2f} h), indexed in {cache}")
        else:
            t0 = time.perf_counter()
            index_paths(settings, [s.file for s in library], args.audio / "tracks.json")
            took = time.perf_counter() - t0
            (settings.home / "benchmark-indexed").write_text("ok\n")
            print(
                f"indexed {len(library)} tracks ({lib_s / 3600:.2f} h) in {took:.1f} s = "
                f"{lib_s / took:.0f}x real time"
            )
        scores, signed = [], []
        per_cat: dict[str, list[int]] = {}
        by_transition: dict[str, list[float]] = {}
        mix_hours = 0.0
        for seed in range(args.first_seed, args.first_seed + args.mixes):
            path, truth, hours = _mix(cache, args, seed, library, held)
            mix_hours += hours
            t0 = time.perf_counter()
            work = Path(tmp) / f"work{seed}"
            work.mkdir()
            result, _, _ = identify(str(path), settings, work, ["local"], lambda f, t: None)
            took = time.perf_counter() - t0
            s = score(truth, result)
            scores.append(s)
            signed += s["start_errors_signed"]
            missed = {(m["start"], m["file"]) for m in s["missed"]}
            found_truth = [t for t in truth if t["known"] and (t["start"], t["file"]) not in missed]
            for t, err in zip(found_truth, s["start_errors_signed"], strict=True):
                by_transition.setdefault(t.get("transition", "crossfade"), []).append(err)
            for t in truth:
                if t["known"]:
                    for cat in _categories(t):
                        tally = per_cat.setdefault(cat, [0, 0])
                        tally[0] += (t["start"], t["file"]) not in missed
                        tally[1] += 1
            print(
                f"mix {seed}: {hours * 60:.0f} min, {s['known']} known excerpts "
                f"({len(truth) - s['known']} unknown): recall {s['recall']:.3f} "
                f"precision {s['precision']:.3f} median start error "
                f"{s['median_start_error_s']} s (max {s['max_start_error_s']}) "
                f"in {took:.1f} s",
                flush=True,
            )
            if args.verbose:
                for m in s["missed"]:
                    print(
                        f"  missed {m['title']!r} at {m['start']:.1f}-{m['end']:.1f} s "
                        f"speed {m['speed']:.3f} {m['mode']} {m.get('transition')}"
                    )
                for r in s["wrong"]:
                    print(
                        f"  wrong {r['title']!r} at {r['start']}-{r['end']} s "
                        f"confidence {r['confidence']}"
                    )
        found = sum(s["found"] for s in scores)
        known = sum(s["known"] for s in scores)
        right = sum(s["found"] for s in scores)
        reported = sum(s["reported"] for s in scores)
        abs_errors = [abs(e) for e in signed]
        print(
            f"TOTAL recall {found / known:.3f} ({found}/{known}), precision "
            f"{right / max(reported, 1):.3f} ({right}/{reported}), median start error "
            f"{statistics.median(abs_errors) if abs_errors else float('nan'):.2f} s over "
            f"all found plays (signed median {statistics.median(signed) if signed else 0:+.2f} s"
            f", {sum(e > 3 for e in signed)} late by > 3 s, {sum(e < -3 for e in signed)} "
            f"early by > 3 s)"
        )
        wrong = reported - right
        print(
            f"wrong reports: {wrong} in {mix_hours:.2f} h of mix = "
            f"{wrong / max(mix_hours, 1e-9):.2f} per hour"
        )
        print(
            "signed median start error by transition: "
            + ", ".join(
                f"{k} {statistics.median(v):+.2f} s ({len(v)})"
                for k, v in sorted(by_transition.items())
            )
        )
        print(
            "recall by condition: "
            + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(per_cat.items()))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
