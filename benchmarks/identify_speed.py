"""Speed and memory of ``cratebot id`` on a 60-minute mix against the local library.

    python benchmarks/identify_speed.py [--minutes 60] [--mix FILE]

Indexes ``../shared/audio`` into a temporary home, generates (or takes) a mix,
then runs ``cratebot id --json --recognizers local`` in a child process and
samples its memory every 20 ms. Prints wall time, × real time (decode
included), peak RSS of the Python process and of the whole process tree
(ffmpeg decoder included), the index size per hour, and the accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.identify_mixgen import load_sources, make_mix, score, write_mp3  # noqa: E402


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[str, float, float, int, int]:
    """Output, wall s, CPU s (user + sys of the process and its children), peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    peak_self = peak_tree = 0
    while proc.poll() is None:
        try:
            rss = proc.memory_info().rss
            tree = rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            continue
        peak_self, peak_tree = max(peak_self, rss), max(peak_tree, tree)
        time.sleep(0.02)
    out = proc.stdout.read().decode() if proc.stdout else ""
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, wall, cpu, peak_self, peak_tree


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--mix", type=Path, help="reuse this mix (with MIX.truth.json)")
    parser.add_argument("--audio", type=Path, default=ROOT.parent / "shared" / "audio")
    args = parser.parse_args()
    sources = load_sources(args.audio)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "CRATEBOT_HOME": str(home)}
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli.main",
                "index",
                str(args.audio),
                "--metadata",
                str(args.audio / "tracks.json"),
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        index_wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        index_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        index_bytes = sum(p.stat().st_size for p in (home / "library").rglob("*.npy"))
        hours = sum(s.duration_s for s in load_sources(args.audio, 0)) / 3600
        print(
            f"cratebot index: {hours:.2f} h of audio in {index_wall:.1f} s = "
            f"{hours * 3600 / index_wall:.0f}x real time (load average {load:.1f} on 2 cores); "
            f"CPU (user+sys, ffmpeg included) {index_cpu:.1f} s = "
            f"{hours * 3600 / index_cpu:.0f}x real time"
        )
        mix_path = args.mix
        if mix_path is None:
            mix_path = Path(tmp) / "mix.mp3"
            t0 = time.perf_counter()
            mix, placed = make_mix(sources, args.minutes, seed=60)
            write_mp3(mix, mix_path)
            del mix
            mix_path.with_suffix(".truth.json").write_text(json.dumps([asdict(p) for p in placed]))
            print(f"generated a {args.minutes:.0f}-minute mix in {time.perf_counter() - t0:.0f} s")
        truth_file = mix_path.with_suffix(".truth.json")
        if not truth_file.is_file():  # identify_mixgen.py's layout
            truth_file = mix_path.parent / "truth.json"
        truth = json.loads(truth_file.read_text())
        truth = truth["tracks"] if isinstance(truth, dict) else truth
        # The job as a runner worker runs it (a process that imports only the job),
        # then the whole `cratebot id` command line (which imports every CLI module).
        job = (
            "import json, sys, tempfile; from pathlib import Path; "
            "from core.identify.job import identify_job; "
            "from core.jobs import run_in_process; from core.settings import load_settings; "
            "t = tempfile.mkdtemp(); "
            "out = run_in_process(identify_job, {'source': sys.argv[1], 'recognizers': ['local']}, "
            "Path(t), load_settings()); out.result.pop('notes'); print(json.dumps(out.result))"
        )
        for label, cmd in (
            ("identify job (worker process)", [sys.executable, "-c", job, str(mix_path)]),
            (
                "cratebot id --json (CLI)",
                [
                    sys.executable,
                    "-m",
                    "bot.cli.main",
                    "id",
                    str(mix_path),
                    "--json",
                    "--recognizers",
                    "local",
                ],
            ),
        ):
            load = os.getloadavg()[0]
            out, wall, cpu, peak_self, peak_tree = run_measured(cmd, env)
            result = json.loads(out)
            s = score(truth, result)
            print(
                f"{label}: {result['duration_s'] / 60:.1f} min mix in {wall:.1f} s = "
                f"{result['duration_s'] / wall:.0f}x real time (process start and decode "
                f"included; load average {load:.1f} on 2 cores); CPU (user+sys, ffmpeg "
                f"included) {cpu:.1f} s = {result['duration_s'] / cpu:.0f}x real time; "
                f"peak RSS python {peak_self / 2**20:.0f} MB, with ffmpeg "
                f"{peak_tree / 2**20:.0f} MB"
            )
        print(
            f"index: {index_bytes / 1e6:.2f} MB for {hours:.2f} h = "
            f"{index_bytes / 1e6 / hours:.2f} MB per hour of reference audio"
        )
        print(
            f"accuracy: recall {s['recall']} precision {s['precision']} "
            f"median start error {s['median_start_error_s']} s ({s['found']}/{s['known']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
