"""What a worker process tells its runner, and how an attempt ended.

The worker sends any number of :class:`ProgressReport` and then exactly one
:class:`Done` or :class:`Failed` over a one-way pipe (pickled dataclasses). The runner
adds :class:`Ended` for attempts that end without a worker's word (the worker died,
timed out, was cancelled or the runner stopped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FailureCategory = Literal["bad_input", "transient", "crash"]


@dataclass(frozen=True)
class ProgressReport:
    fraction: float
    text: str


@dataclass(frozen=True)
class Done:
    result: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failed:
    """``bad_input`` is not retried, ``transient`` is (bounded), ``crash`` is not."""

    category: FailureCategory
    message: str
    trace: str = ""


@dataclass(frozen=True)
class Ended:
    """The attempt ended without a result from the worker."""

    reason: Literal["timeout", "cancelled", "stopped"]


WorkerMessage = ProgressReport | Done | Failed
Outcome = Done | Failed | Ended
