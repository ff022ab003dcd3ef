"""The shared job runner: every front-end submits work here.

Job functions: ``def job(ctx: JobContext, params: dict) -> JobOutput`` (see
:mod:`core.jobs.context`).
"""

from core.jobs.context import JobContext, JobFunction, run_in_process
from core.jobs.types import JobOutput, JobState, LocalProgress, ProgressSink

__all__ = [
    "JobContext",
    "JobFunction",
    "JobOutput",
    "JobState",
    "LocalProgress",
    "ProgressSink",
    "run_in_process",
]
