"""Job kind ``probe``: fetch a source and report what it is (the smallest real job)."""

from __future__ import annotations

from typing import Any

from core.audio.fetch import resolve_source
from core.jobs.context import JobContext
from core.jobs.types import JobOutput


def probe_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    settings, progress, workdir = ctx.settings, ctx.progress, ctx.workdir
    progress(0.0, "fetching")
    info = resolve_source(str(params["source"]), workdir, settings, progress)
    progress(1.0, "probed")
    return JobOutput(
        result={
            "source": str(params["source"]),
            "duration_s": info.duration_s,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "codec": info.codec,
            "size_bytes": info.size_bytes,
        }
    )
