"""Plain types shared by the runner, the worker processes and the pipelines.

A job function is a plain importable function::

    def run(params: dict, progress: Progress, workdir: Path) -> JobOutput

``params`` is the JSON-safe dict given to ``submit`` plus, under the reserved key
``"_settings"``, the runner's ``Settings`` object (never persisted). ``workdir`` is an
empty folder private to this attempt; files named in ``JobOutput.files`` (paths
relative to ``workdir``) are published to ``$CRATEBOT_HOME/results/<job id>/``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

SETTINGS_KEY = "_settings"


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


class Progress(Protocol):
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


def settings_of(params: dict[str, Any]):  # -> Settings (import kept lazy for workers)
    """The Settings the runner injected, or ones built from the environment."""
    from core.settings import Settings, load_settings

    value = params.get(SETTINGS_KEY)
    return value if isinstance(value, Settings) else load_settings()


def run_in_process(
    func: Callable[..., JobOutput],
    params: dict[str, Any],
    workdir: Path,
    settings: Any,
    progress: Progress | None = None,
) -> JobOutput:
    """Call a job function directly, the way a worker process would."""
    workdir.mkdir(parents=True, exist_ok=True)
    return func({**params, SETTINGS_KEY: settings}, progress or LocalProgress(), workdir)
