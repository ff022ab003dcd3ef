"""What a job function is given: its context (as in arq) and its parameters.

A job function is a plain importable, synchronous function::

    from core.jobs.context import JobContext
    from core.jobs.types import JobOutput

    def my_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
        ctx.progress(0.5, "halfway")              # cheap to call often; it throttles
        (ctx.workdir / "out.txt").write_text(...)  # an empty folder private to this attempt
        return JobOutput(result={...}, files=["out.txt"])

``params`` is exactly the JSON-safe dict given to ``submit`` (persisted with the job);
everything else a job needs comes in ``ctx``. Files named in ``JobOutput.files``
(relative to ``ctx.workdir``) are published to ``$CRATEBOT_HOME/results/<job id>/``.
Raise :class:`core.errors.BadInput` for bad input (not retried),
:class:`core.errors.TransientError` for trouble worth retrying; anything else fails
the attempt as a crash.

Any backend that runs job functions (the built-in process runner, a Celery worker)
builds a :class:`JobContext` and calls the function; nothing is read from the
environment behind the caller's back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.jobs.types import JobOutput, LocalProgress, ProgressSink
from core.settings import Settings


@dataclass(frozen=True)
class JobContext:
    """Everything a job function may use besides its params.

    job_id:   the job's id ("local" when run in-process by the CLI).
    settings: the Settings of whoever runs the job (never reloaded from the environment).
    workdir:  an empty folder private to this attempt; the function writes its files here.
    progress: ``progress(fraction 0..1, short text)``.
    attempt:  1 for the first try, 2 after one transient failure, ...
    """

    job_id: str
    settings: Settings
    workdir: Path
    progress: ProgressSink
    attempt: int = 1


JobFunction = Callable[[JobContext, dict[str, Any]], JobOutput]


def run_in_process(
    func: JobFunction,
    params: dict[str, Any],
    workdir: Path,
    settings: Settings,
    progress: ProgressSink | None = None,
    job_id: str = "local",
) -> JobOutput:
    """Call a job function directly, the way a worker process would (CLI, tests)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = JobContext(job_id, settings, workdir, progress or LocalProgress())
    return func(ctx, params)
