"""Coalesce progress for front-ends that may only edit a message every so often."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from bot.commands.api import Progress, Reply, Update

_END = object()


async def latest_every(updates: AsyncIterator[Update], interval_s: float) -> AsyncIterator[Update]:
    """Pass the first Progress at once, then at most one (the newest) per ``interval_s``;
    the Reply always passes, immediately, and ends the stream.

    A Progress that arrives too soon is held and delivered when the interval is up even
    if nothing newer comes, so a status message never stays stale behind a quiet job.
    """
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for update in updates:
                await queue.put(update)
        except BaseException as exc:  # hand the source's failure to the consumer
            await queue.put(exc)
            raise
        finally:
            await queue.put(_END)

    task = asyncio.create_task(pump())
    pending: Progress | None = None
    last = float("-inf")
    try:
        while True:
            timeout = None if pending is None else max(0.0, last + interval_s - time.monotonic())
            try:
                item = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                assert pending is not None
                yield pending
                pending, last = None, time.monotonic()
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                if isinstance(item, asyncio.CancelledError):
                    return
                raise item
            if isinstance(item, Reply):
                yield item
                return
            assert isinstance(item, Progress)
            if time.monotonic() - last >= interval_s:
                yield item
                pending, last = None, time.monotonic()
            else:
                pending = item
    finally:
        task.cancel()
        # The source's own failure, if any, was already raised above.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
