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
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from core.errors import BadInput, NotAvailable, TransientError
from core.jobs.context import JobContext
from core.jobs.kinds import JobKind
from core.jobs.messages import Done, Failed, ProgressReport, WorkerMessage
from core.jobs.types import JobOutput
from core.settings import Settings

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
        self._conn.send(ProgressReport(fraction, text))


@dataclass(frozen=True)
class WorkerTask:
    """One attempt as the runner hands it to a worker process (pickled)."""

    kind: JobKind
    job_id: str
    attempt: int
    params: dict[str, Any]
    settings: Settings
    workdir: Path


def run_task(task: WorkerTask, conn: Connection) -> WorkerMessage:
    """Run the attempt and say how it ended; never raises."""
    try:
        func = task.kind.resolve()
        task.workdir.mkdir(parents=True, exist_ok=True)
        ctx = JobContext(task.job_id, task.settings, task.workdir, PipeProgress(conn), task.attempt)
        output = func(ctx, task.params)
        if not isinstance(output, JobOutput):
            raise TypeError(f"{task.kind.func} returned {type(output).__name__}, not JobOutput")
        return Done(output.result, tuple(output.files))
    except (BadInput, NotAvailable) as exc:
        return Failed("bad_input", str(exc))
    except TransientError as exc:
        return Failed("transient", str(exc))
    except MemoryError:
        return Failed("crash", "ran out of memory", traceback.format_exc())
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC: say so plainly, the job can run again later
            return Failed("transient", "the disk is full", traceback.format_exc())
        return Failed("crash", f"{type(exc).__name__}: {exc}", traceback.format_exc())
    except BaseException as exc:  # noqa: BLE001 - everything must reach the runner
        return Failed("crash", f"{type(exc).__name__}: {exc}", traceback.format_exc())


def worker_main(task: WorkerTask, conn: Connection, parent_pid: int) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _die_with_parent(parent_pid)
    try:
        conn.send(run_task(task, conn))
    finally:
        conn.close()
