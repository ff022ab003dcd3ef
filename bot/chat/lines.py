"""Lines from stdin as an async iterator, read on a daemon thread.

A daemon thread rather than ``loop.connect_read_pipe``: that cannot watch a regular
file (``cratebot chat < commands.txt``), and an executor thread blocked in
``readline`` would keep the process alive after Ctrl-C.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import TextIO

_EOF = None


async def read_lines(stream: TextIO) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        try:
            for line in stream:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass  # stdin closed under us: treat as end of input
        finally:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, _EOF)
            except RuntimeError:
                pass  # the loop is already closed; nobody is listening

    threading.Thread(target=reader, name="stdin-reader", daemon=True).start()
    while (line := await queue.get()) is not _EOF:
        yield line
