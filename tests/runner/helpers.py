"""Builders for runner tests: test job kinds on top of the built-in ones."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.jobs.kinds import JobKind
from core.jobs.runner import JobRunner
from core.settings import Settings
from storage.db import Database

T = TypeVar("T")

FUNCS = "tests.runner.jobfuncs"


def runner_kinds(
    concurrency: int = 1, timeout_s: float = 60, max_attempts: int = 3
) -> dict[str, JobKind]:
    return {
        "sleepy": JobKind(
            "sleepy",
            f"{FUNCS}:sleepy_job",
            concurrency=concurrency,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            input_params=(),
        ),
        "child": JobKind(
            "child", f"{FUNCS}:child_process_job", timeout_s=timeout_s, input_params=()
        ),
        "flaky": JobKind("flaky", f"{FUNCS}:flaky_job", max_attempts=max_attempts, input_params=()),
        "bad": JobKind("bad", f"{FUNCS}:bad_input_job", max_attempts=max_attempts, input_params=()),
        "crash": JobKind("crash", f"{FUNCS}:crash_job", max_attempts=1, input_params=()),
        "hashing": JobKind("hashing", f"{FUNCS}:hashing_job", input_params=("source",)),
    }


def make_runner(settings: Settings, db: Database, **kwargs: object) -> JobRunner:
    kinds = kwargs.pop("kinds", None) or runner_kinds()
    options = {
        "poll_interval_s": 0.05,
        "heartbeat_s": 0.2,
        "stale_after_s": 1.0,
        "retry_base_s": 0.2,
        "progress_persist_s": 0.1,
    }
    options.update(kwargs)
    return JobRunner(settings, db, kinds, **options)  # type: ignore[arg-type]


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def wait_until(
    predicate: Callable[[], Awaitable[T]], timeout: float = 20.0, interval: float = 0.05
) -> T:
    """Poll ``predicate`` until it returns something truthy (bounded: fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError("condition not reached in time")
