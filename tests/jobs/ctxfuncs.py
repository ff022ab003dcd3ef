"""Job functions that report what their context held (run in-process by the tests)."""

from __future__ import annotations

from typing import Any

from core.errors import BadInput, TransientError
from core.jobs.context import JobContext
from core.jobs.types import JobOutput


def echo_context_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    ctx.progress(0.5, "halfway")
    (ctx.workdir / "out.txt").write_text(params["text"])
    return JobOutput(
        result={
            "job_id": ctx.job_id,
            "attempt": ctx.attempt,
            "home": str(ctx.settings.home),
            "params": sorted(params),
        },
        files=["out.txt"],
    )


def failing_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    kind = params["kind"]
    if kind == "bad":
        raise BadInput("not audio")
    if kind == "transient":
        raise TransientError("network hiccup")
    if kind == "disk":
        raise OSError(28, "No space left on device")
    raise RuntimeError("boom")


def not_an_output_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    return {"oops": True}  # type: ignore[return-value]
