"""What runs inside a job's worker process.

Each job attempt gets its own spawned process: cancelling or timing out a job
kills that process group (ffmpeg children included), which a pool could not do
for one task. The worker also dies with its runner (PR_SET_PDEATHSIG, plus a
watchdog thread where that is unavailable), so a kill -9 of the runner leaves no
orphan still writing results.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from core.errors import (
    BadInput,
    NotAvailable,
    TransientError,
    new_error_id,
    unexpected_error_message,
)
from core.jobs.types import JobOutput

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os.killpg(0, signal.SIGKILL)
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class PipeProgress:
    """Progress reporter that forwards to the runner, at most every ``interval`` seconds."""

    def __init__(self, conn: Connection, interval: float = 0.2) -> None:
        self._conn = conn
        self._interval = interval
        self._last = 0.0
        self._last_text: str | None = None

    def __call__(self, fraction: float, text: str = "") -> None:
        now = time.monotonic()
        fraction = max(0.0, min(1.0, float(fraction)))
        if now - self._last < self._interval and text == self._last_text and fraction < 1.0:
            return
        self._last = now
        self._last_text = text
        self._conn.send(("progress", fraction, text))


def _send_unexpected(conn: Connection) -> None:
    # Users get an error id; the runner logs the trace, which names the same id.
    error_id = new_error_id()
    trace = f"error id {error_id}\n{traceback.format_exc()}"
    conn.send(("error", "crash", unexpected_error_message(error_id), trace))


def worker_main(
    func_path: str, params: dict[str, Any], workdir: str, conn: Connection, parent_pid: int
) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _die_with_parent(parent_pid)
    try:
        import importlib

        module, _, attr = func_path.partition(":")
        func = getattr(importlib.import_module(module), attr)
        folder = Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
        output = func(params, PipeProgress(conn), folder)
        if not isinstance(output, JobOutput):
            raise TypeError(f"{func_path} returned {type(output).__name__}, not JobOutput")
        conn.send(("done", output.result, list(output.files)))
    except BadInput as exc:
        conn.send(("error", "bad_input", str(exc), ""))
    except NotAvailable as exc:
        conn.send(("error", "bad_input", str(exc), ""))
    except TransientError as exc:
        conn.send(("error", "transient", str(exc), ""))
    except MemoryError:
        conn.send(("error", "crash", "ran out of memory", traceback.format_exc()))
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC: say so plainly, the job can run again later
            conn.send(("error", "transient", "the disk is full", traceback.format_exc()))
        else:
            _send_unexpected(conn)
    except BaseException:  # noqa: BLE001 - everything must reach the runner
        _send_unexpected(conn)
    finally:
        conn.close()
