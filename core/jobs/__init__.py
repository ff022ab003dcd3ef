"""The shared job runner: every front-end submits work here."""

from core.jobs.types import JobOutput, JobState, Progress

__all__ = ["JobOutput", "JobState", "Progress"]
