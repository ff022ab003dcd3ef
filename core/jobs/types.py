"""Plain types shared by the runner, the worker processes and the pipelines.

The job-function signature and its context are in :mod:`core.jobs.context`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


@dataclass
class JobOutput:
    """What a job function returns: a JSON-safe result and the files to publish."""

    result: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


class ProgressSink(Protocol):
    """Progress reporter handed to job functions; cheap to call often (it throttles)."""

    def __call__(self, fraction: float, text: str = "") -> None: ...


class LocalProgress:
    """Progress reporter for running a job function in-process (CLI, tests).

    Calls ``sink(fraction, text)`` at most every ``min_interval_s`` unless the
    fraction reaches 1.0 or the text changes.
    """

    def __init__(
        self, sink: Callable[[float, str], None] | None = None, min_interval_s: float = 0.1
    ) -> None:
        self._sink = sink
        self._min = min_interval_s
        self._last_t = 0.0
        self._last_text = ""
        self.fraction = 0.0
        self.text = ""

    def __call__(self, fraction: float, text: str = "") -> None:
        self.fraction = max(0.0, min(1.0, float(fraction)))
        self.text = text
        now = time.monotonic()
        if self._sink is None:
            return
        if self.fraction >= 1.0 or text != self._last_text or now - self._last_t >= self._min:
            self._last_t = now
            self._last_text = text
            self._sink(self.fraction, text)
