"""Overhead of the whole ``stems`` job over one bare ``apply_model`` call on the same audio.

Bare: decode the file into memory, normalise like demucs, one
``apply_model(shifts=1, split=True, overlap=0.25)``. Whole job: fetch/probe,
hash, analysis pass, windowed separation, scratch files, loudness, four MP3s
at 320 kbit/s, manifest, zip. Runs alternate (bare, job, bare, job, ...) so
load from other processes hits both alike; the best time of each is compared.

    python benchmarks/stems_throughput.py --model full --seconds 60 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from stems_common import make_input, make_repo


def bare(model, path: Path) -> float:
    import torch
    from demucs.apply import apply_model

    from core.audio import decode_array

    started = time.perf_counter()
    wav = torch.from_numpy(decode_array(path).T.copy())
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    out = apply_model(model, ((wav - mean) / std)[None], shifts=1, split=True, overlap=0.25)
    out = out * std + mean
    return time.perf_counter() - started


def whole_job(path: Path, repo: Path, name: str, work: Path, model) -> tuple[float, dict]:
    from core.settings import load_settings
    from core.stems.options import StemsOptions
    from core.stems.pipeline import run_stems

    settings = load_settings(home=work / "home")
    settings.ensure_dirs()
    opts = StemsOptions.from_params(
        {"source": str(path), "model": name, "model_repo": str(repo), "format": "mp3"}
    )
    started = time.perf_counter()
    result = run_stems(opts, settings, work / f"out{time.time_ns()}", work / "scratch", model=model)
    return time.perf_counter() - started, result.manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("tiny", "full"), default="full")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "stems_bench")
    args = parser.parse_args()
    from core.stems.models import load_model
    from core.stems.pipeline import pick_device

    repo = args.cache / "repo"
    name = make_repo(repo, args.model)
    source = make_input(args.cache / f"input_{args.seconds:g}s.mp3", args.seconds)
    loaded = load_model(name, repo)  # loaded once, outside both timings
    device, threads = pick_device(None)
    bare_times, job_times = [], []
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        for _ in range(args.repeats):
            bare_times.append(bare(loaded.model, source))
            seconds, manifest = whole_job(source, repo, name, Path(tmp), loaded)
            job_times.append(seconds)
            print(
                json.dumps(
                    {
                        "bare_s": round(bare_times[-1], 2),
                        "job_s": round(seconds, 2),
                        "job_timings": manifest["timings_s"],
                    }
                ),
                flush=True,
            )
    best_bare, best_job = min(bare_times), min(job_times)
    print(
        json.dumps(
            {
                "model": args.model,
                "audio_s": args.seconds,
                "device": str(device),
                "threads": threads,
                "bare_best_s": round(best_bare, 2),
                "job_best_s": round(best_job, 2),
                "overhead_pct_best": round(100 * (best_job / best_bare - 1), 2),
                "overhead_pct_mean": round(100 * (sum(job_times) / sum(bare_times) - 1), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
