"""The commands a chat skin is following, so that shutdown stops them all at once.

Following a command means streaming its updates to the chat. On shutdown the skin
stops following (cancels those tasks); the jobs themselves go on in the runner and
users re-attach with /jobs. Shared by the Telegram and Discord skins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Following(Generic[T]):
    """Running command tasks, each with a note (e.g. where its status is shown)."""

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[Any], T] = {}

    @contextmanager
    def follow(self, note: T) -> Iterator[None]:
        """Register the current task for the duration of the ``with`` block."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = note
        try:
            yield
        finally:
            self._tasks.pop(task, None)

    async def abandon(self, timeout: float) -> list[T]:
        """Cancel every followed task, wait up to ``timeout`` s; their notes."""
        pending = [(task, note) for task, note in self._tasks.items() if not task.done()]
        for task, _ in pending:
            task.cancel()
        if pending:
            await asyncio.wait([task for task, _ in pending], timeout=timeout)
        return [note for _, note in pending]
