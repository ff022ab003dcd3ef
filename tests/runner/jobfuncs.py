"""Real job functions used by the runner tests (imported by spawned worker processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.errors import BadInput, TransientError
from core.jobs.context import JobContext
from core.jobs.types import JobOutput


def sleepy_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    """Works for ``seconds`` reporting progress, logs its run window, writes a result file."""
    progress, workdir = ctx.progress, ctx.workdir
    seconds = float(params.get("seconds", 1.0))
    log_dir = Path(params["log_dir"]) if params.get("log_dir") else None
    start = time.time()
    if log_dir:
        (log_dir / f"{os.getpid()}.pid").write_text(str(os.getpid()))
    steps = max(1, int(seconds / 0.05))
    for i in range(steps):
        time.sleep(seconds / steps)
        progress((i + 1) / steps, f"step {i + 1}/{steps}")
    end = time.time()
    if log_dir:
        (log_dir / f"{os.getpid()}.window").write_text(json.dumps([start, end]))
    (workdir / "out").mkdir()
    (workdir / "out" / "result.txt").write_text(f"slept {seconds}\n")
    return JobOutput(result={"slept": seconds, "pid": os.getpid()}, files=["out/result.txt"])


def child_process_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    """Starts a long-lived child (as ffmpeg would be) and records both pids, then waits."""
    progress = ctx.progress
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(params["pid_file"]).write_text(json.dumps({"worker": os.getpid(), "child": child.pid}))
    for i in range(1200):
        progress(i / 1200, "waiting")
        time.sleep(0.1)
    return JobOutput()


def flaky_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    """Fails with a transient error until it has been tried ``succeed_on`` times."""
    counter = Path(params["counter"])
    tries = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(tries))
    if tries < int(params["succeed_on"]):
        raise TransientError(f"network hiccup on try {tries}")
    return JobOutput(result={"tries": tries})


def bad_input_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    counter = Path(params["counter"])
    tries = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(tries))
    raise BadInput("that file is not audio")


def crash_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    os._exit(3)


def hashing_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    """Counts its runs so dedupe can be checked."""
    counter = Path(params["counter"])
    tries = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(tries))
    data = Path(params["source"]).read_bytes()
    return JobOutput(result={"size": len(data)})
