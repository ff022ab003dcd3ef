"""Job functions standing in for a slow pipeline (imported by spawned workers)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path
from typing import Any

from core.jobs.context import JobContext
from core.jobs.types import JobOutput


def slow_stems_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    """Reads its source, reports progress for ``seconds``, and zips a copy of the input."""
    progress, workdir = ctx.progress, ctx.workdir
    source = Path(params["source"])
    seconds = float(params.get("seconds", 3.0))
    steps = 30
    for i in range(steps):
        time.sleep(seconds / steps)
        progress((i + 1) / steps, f"separating {i + 1}/{steps}")
    (workdir / "vocals.txt").write_text(f"stems of {source.name}\n")
    with zipfile.ZipFile(workdir / "stems.zip", "w") as zf:
        zf.write(source, source.name)
    return JobOutput(result={"zip": "stems.zip"}, files=["stems.zip", "vocals.txt"])
