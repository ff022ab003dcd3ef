"""Peak RSS of ``cratebot stems`` against input length.

Runs each measurement in a fresh child process (the real job function through
``run_in_process``) and samples its RSS every 0.2 s with psutil. With
``--limit-s`` a run is stopped after that many seconds and the report says how
far it got: the analysis pass over the whole input has then finished and the
separation has reached a steady state, but the run is PARTIAL, and is marked so.

    python benchmarks/stems_memory.py --model tiny --minutes 10 30 60
    python benchmarks/stems_memory.py --model full --minutes 1 3 --limit-s 900
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from stems_common import ROOT, make_input, make_repo

CHILD = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from core.jobs import LocalProgress, run_in_process
from core.settings import load_settings
from core.stems.job import stems_job
progress_file = Path({progress!r})
def sink(fraction, text):
    progress_file.write_text(json.dumps({{"fraction": fraction, "text": text, "t": time.time()}}))
settings = load_settings(home={home!r}); settings.ensure_dirs()
out = run_in_process(stems_job, {{"source": {source!r}, "model": {model!r}, "model_repo": {repo!r},
                     "format": "mp3", "minus": "vocals"}}, Path({work!r}), settings,
                     LocalProgress(sink, 1.0))
print(json.dumps(out.result["manifest"]["timings_s"]))
"""


def measure(source: Path, model: str, repo: Path, tmp: Path, limit_s: float | None) -> dict:
    progress = tmp / "progress.json"
    progress.unlink(missing_ok=True)
    code = CHILD.format(
        root=str(ROOT),
        progress=str(progress),
        home=str(tmp / "home"),
        source=str(source),
        model=model,
        repo=str(repo),
        work=str(tmp / f"work-{time.time_ns()}"),
    )
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    child = psutil.Process(proc.pid)
    peak = 0
    partial = False
    while proc.poll() is None:
        try:
            peak = max(peak, child.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        if limit_s is not None and time.time() - started > limit_s:
            partial = True
            proc.kill()
            break
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    state = json.loads(progress.read_text()) if progress.exists() else {}
    if proc.returncode not in (0, None) and not partial:
        raise RuntimeError(stderr[-2000:])
    return {
        "peak_rss_mb": round(peak / 2**20),
        "wall_s": round(time.time() - started, 1),
        "partial": partial,
        "progress": state.get("text"),
        "fraction": round(state.get("fraction", 0.0), 3),
        "timings": json.loads(stdout.strip().splitlines()[-1]) if not partial else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("tiny", "full"), default="tiny")
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 30, 60])
    parser.add_argument("--limit-s", type=float, default=None)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "stems_bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    repo = args.cache / "repo"
    model = make_repo(repo, args.model)
    print(f"model={args.model} cpus={os.cpu_count()} limit_s={args.limit_s}")
    for minutes in args.minutes:
        source = make_input(args.cache / f"input_{minutes:g}min.mp3", minutes * 60)
        with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
            result = measure(source, model, repo, Path(tmp), args.limit_s)
        print(json.dumps({"minutes": minutes, **result}), flush=True)


if __name__ == "__main__":
    main()
