"""How a chat front-end tells ``cratebot serve`` whether it is connected.

``serve`` runs each front-end in its own task with a reporter in this context
variable; the front-end calls :func:`report` when it connects (``ok``) or loses its
connection (``reconnecting``). A context variable keeps the front-end entry points'
signature unchanged (tests and embedders pass plain coroutines).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

OK = "ok"
RECONNECTING = "reconnecting"
DOWN = "down"
STARTING = "starting"

_reporter: contextvars.ContextVar[Callable[[str, str], None] | None] = contextvars.ContextVar(
    "cratebot_frontend_status", default=None
)


def report(state: str, detail: str = "") -> None:
    """Tell ``serve`` this front-end's state (a no-op outside ``serve``)."""
    reporter = _reporter.get()
    if reporter is not None:
        reporter(state, detail)


def set_reporter(reporter: Callable[[str, str], None] | None) -> None:
    """Set in the context a front-end task is created from."""
    _reporter.set(reporter)
