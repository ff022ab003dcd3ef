"""The scale-out backend: front-ends submit to Celery, ``cratebot worker`` runs the jobs.

Both sides reuse :class:`core.jobs.runner.JobRunner`:

* :class:`BrokerRunner` is what every front-end gets when ``CRATEBOT_BROKER_URL`` is set.
  It keeps the runner's API (``kind``, ``submit``, ``get``, ``subscribe``, ``wait``,
  ``cancel``) but never runs a job: ``submit`` creates the row atomically (dedupe and
  quota held in the database) and publishes a message to the kind's queue; progress
  reaches ``subscribe`` through the database, written by workers on other machines.
* :class:`WorkerExecutor` lives inside a Celery worker. Each task claims its job in the
  database and runs it exactly as the embedded runner does (``JobRunner._execute``): a
  spawned child process in its own process group, progress over a pipe, the kind's time
  limit, ``cancel_requested`` watched in the database and answered by killing the child's
  process group, results published atomically under ``CRATEBOT_HOME/results``.

Both sides also sweep: running jobs whose heartbeat went silent are re-queued (see
:mod:`core.jobs.celery_app` for why heartbeats rather than the broker's visibility
timeout), and queued jobs that have no message yet (a retry whose delay has passed, a
publish that failed while the broker was down) are published.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from core.errors import CrateBotError
from core.jobs.kinds import JobKind
from core.jobs.runner import (
    JobRunner,
    JobView,
    OwnerRef,
    QuotaExceeded,
    Submission,
    _canonical,
    _Running,
    dedupe_key,
)
from core.jobs.types import JobState
from core.settings import Settings
from storage.base import utcnow
from storage.db import Database
from storage.workers import Quota, ScaleoutRepository, Submitted

log = logging.getLogger("cratebot.scaleout")

SWEEP_INTERVAL_S = 2.0
BEAT_FILE = Path(tempfile.gettempdir()) / "cratebot-worker.beat"


class _Sweeper(JobRunner):
    """What front-ends and workers share: the dispatch and dead-worker sweeps."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        kinds: dict[str, JobKind] | None = None,
        *,
        app: Any = None,
        **options: Any,
    ) -> None:
        options.setdefault("heartbeat_s", settings.worker_heartbeat_s)
        options.setdefault("stale_after_s", settings.worker_dead_after_s)
        super().__init__(settings, db, kinds, **options)
        from core.jobs.celery_app import make_app

        self.app = app if app is not None else make_app(settings)
        self.scale = ScaleoutRepository(db)
        self.sweep_every_s = min(SWEEP_INTERVAL_S, self.stale_after_s / 2)

    async def _publish(self, job_id: str, kind: str, marked: bool = False) -> bool:
        """Send the job's message; ``marked``: the row already says it was sent."""
        from core.jobs.celery_app import publish

        try:
            await asyncio.to_thread(publish, self.app, job_id, kind)
        except Exception as exc:  # broker down: the sweep publishes it later
            log.warning("could not publish job %s to the broker: %s", job_id, exc)
            if marked:
                await self.scale.clear_dispatch(job_id)
            return False
        if not marked:
            await self.scale.mark_dispatched(job_id)
        return True

    async def sweep_once(self) -> None:
        older = utcnow() - dt.timedelta(seconds=self.stale_after_s)
        for swept in await self.scale.sweep_stale(older):
            log.warning(
                "job %s: its worker stopped beating; %s",
                swept.job_id,
                "queued again" if swept.requeued else "failed (attempts used up)",
            )
        # A job sent a while ago, still queued, while its queue is empty: its message was
        # lost (a front-end died between commit and publish, or a worker died between
        # taking the message and claiming the job). Send another; duplicates are harmless.
        sent_before = utcnow() - dt.timedelta(seconds=self.stale_after_s)
        empty: dict[str, bool] = {}
        for job in await self.scale.undispatched(redispatch_before=sent_before):
            if job.dispatched_at is not None:
                if job.kind not in empty:
                    empty[job.kind] = await self._queue_empty(job.kind)
                if not empty[job.kind]:
                    continue
                log.warning("job %s: its message was lost; publishing it again", job.id)
            await self._publish(job.id, job.kind)

    async def _queue_empty(self, queue: str) -> bool:
        from core.jobs.celery_app import waiting

        try:
            return await asyncio.to_thread(waiting, self.app, queue) == 0
        except Exception as exc:  # broker down: nothing to decide now
            log.warning("could not read the length of queue %s: %s", queue, exc)
            return False

    async def _loop(self) -> None:
        last_results_sweep = time.monotonic()
        while self._accepting:
            try:
                await self._tick()
                await self.sweep_once()
                now = time.monotonic()
                if now - last_results_sweep >= self.sweep_interval_s:
                    last_results_sweep = now
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database or broker hiccup must not end the loop
                log.exception("scale-out sweep error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_every_s)

    async def _tick(self) -> None:
        """Hook for the worker's heartbeat and cancel checks."""

    async def start(self) -> None:
        self.settings.ensure_dirs()
        self._accepting = True
        self._main = asyncio.create_task(self._loop(), name="scaleout-sweeps")


class BrokerRunner(_Sweeper):
    """The front-end runner when ``CRATEBOT_BROKER_URL`` is set: submits, never runs."""

    async def submit(
        self, kind: str | JobKind, params: dict[str, Any], owner: OwnerRef | None = None
    ) -> Submission:
        spec = kind if isinstance(kind, JobKind) else self.kind(kind)
        params = json.loads(_canonical(params))
        key = await asyncio.to_thread(dedupe_key, spec, params)
        quota = Quota(
            self.settings.max_queued_jobs_per_owner, self.settings.max_jobs_per_day_per_owner
        )
        submission = await self.scale.submit(
            uuid.uuid4().hex[:12],
            spec.name,
            params,
            (owner.platform, owner.user_id, owner.display_name) if owner is not None else None,
            key,
            spec.max_attempts,
            quota,
        )
        if submission.outcome is Submitted.QUOTA:
            if submission.which == "active":
                raise QuotaExceeded(
                    f"you already have {submission.count} unfinished jobs (the limit is "
                    f"{submission.limit}); wait for one to finish or cancel one"
                )
            raise QuotaExceeded(
                f"you have started {submission.count} jobs in the last 24 hours (the limit is "
                f"{submission.limit}); try again later"
            )
        assert submission.job is not None
        if submission.outcome is Submitted.CREATED:
            await self._publish(submission.job.id, spec.name, marked=True)
        return Submission(JobView.of(submission.job), reused=submission.outcome is Submitted.REUSED)

    async def cancel(self, job_id: str) -> str | None:
        """Flag the job; the worker running it (on any machine) kills it within a second."""
        state = await self.repo.request_cancel(job_id)
        if state == "cancelled":
            await self._notify(job_id)
        return state

    async def sweep(self) -> Any:
        return await self.results.sweep()  # the work folders belong to the workers


class WorkerExecutor(_Sweeper):
    """Runs claimed jobs inside a Celery worker process (see ``run_worker``)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        kinds: dict[str, JobKind] | None = None,
        *,
        queues: tuple[str, ...] = (),
        **options: Any,
    ) -> None:
        options.setdefault("poll_interval_s", 0.5)
        options.setdefault("progress_persist_s", 1.0)
        super().__init__(settings, db, kinds, **options)
        self.queues = queues
        self.runner_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._last_beat = 0.0
        self.sweep_every_s = min(self.sweep_every_s, self.heartbeat_s, 1.0)

    async def start(self) -> None:
        await self.scale.register(
            self.runner_id, socket.gethostname(), os.getpid(), ",".join(self.queues)
        )
        await super().start()

    async def stop(self) -> None:
        """Stop the running jobs; each goes back to the queue for another worker."""
        await super().stop()
        with contextlib.suppress(Exception):
            await self.scale.stopped(self.runner_id)

    async def _tick(self) -> None:
        now = time.monotonic()
        if now - self._last_beat >= self.heartbeat_s:
            self._last_beat = now
            await self.scale.beat(self.runner_id, list(self._running))
            # For a container healthcheck on this machine (docker-compose.yml).
            with contextlib.suppress(OSError):
                BEAT_FILE.touch()
        if self._running:
            flagged: list[str] = await self.repo.cancel_requested(list(self._running))
            for job_id in flagged:
                self._running[job_id].cancel.set()

    async def run_job(self, job_id: str) -> str:
        """Claim and run one job; returns its state afterwards (or why it was skipped)."""
        if not self._accepting:
            # The message is taken but the job will not run here: let a sweep resend it.
            await self.scale.clear_dispatch(job_id)
            return "worker stopping"
        job = await self.scale.claim(job_id, self.runner_id)
        if job is None:
            return "not claimable"  # a duplicate message, or cancelled/taken meanwhile
        kind = self.kinds.get(job.kind)
        if kind is None or not kind.available():
            await self.repo.finish(
                job_id, "failed", error=f"this worker cannot run {job.kind} jobs"
            )
            return "failed"
        running = _Running(job=job, kind=kind, process=None, started=time.monotonic())
        self._running[job.id] = running
        await self._execute(running)
        after = await self.repo.get(job_id)
        state = after.state if after is not None else "gone"
        if state == JobState.QUEUED:
            # A transient-error retry or a stop: publish again once its delay has passed.
            await self.scale.clear_dispatch(job_id)
            self._wake.set()
        return state

    async def sweep(self) -> Any:
        # Work folders of jobs no worker runs any more; results expire on the same clock.
        return await super().sweep()


def run_worker(
    settings: Settings,
    queues: tuple[str, ...],
    concurrency: int,
    kinds: dict[str, JobKind] | None = None,
    loglevel: str = "INFO",
) -> int:
    """Run a Celery worker on these queues until it is stopped (``cratebot worker``).

    The Celery pool is threads: each thread only waits for its job's child process, and
    the child is what cancel, time limits and kill -9 act on.
    """
    from celery import signals  # type: ignore[import-untyped]

    from core.jobs.celery_app import TASK_NAME, make_app
    from storage.db import open_database

    settings.ensure_dirs()
    app = make_app(settings)
    loop_box: dict[str, Any] = {}
    ready = threading.Event()

    async def setup() -> WorkerExecutor:
        db = await open_database(settings.database_url)
        loop_box["db"] = db
        return WorkerExecutor(settings, db, kinds, app=app, queues=queues)

    def loop_thread() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop_box["loop"] = loop
        executor = loop.run_until_complete(setup())
        loop_box["executor"] = executor
        loop.run_until_complete(executor.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(executor.stop())
        loop.run_until_complete(loop_box["db"].dispose())
        loop.close()

    thread = threading.Thread(target=loop_thread, name="cratebot-executor", daemon=True)
    thread.start()
    if not ready.wait(120):
        raise CrateBotError("the worker could not open the database within 120 s")
    loop: asyncio.AbstractEventLoop = loop_box["loop"]
    executor: WorkerExecutor = loop_box["executor"]

    @app.task(name=TASK_NAME, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> str:
        future = asyncio.run_coroutine_threadsafe(executor.run_job(job_id), loop)
        return future.result()

    def stop_jobs(**_: Any) -> None:
        # Warm shutdown waits for running tasks: stop their jobs so they end now and
        # go back to the queue for another worker.
        asyncio.run_coroutine_threadsafe(executor.stop(), loop).result(60)

    signals.worker_shutting_down.connect(stop_jobs, weak=False)
    argv = [
        "worker",
        f"--queues={','.join(queues)}",
        f"--concurrency={concurrency}",
        "--pool=threads",
        f"--loglevel={loglevel}",
        f"--hostname=cratebot-{executor.runner_id}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    try:
        app.worker_main(argv=argv)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(90)
    return 0


def make_runner(
    settings: Settings, db: Database, kinds: dict[str, JobKind] | None = None
) -> JobRunner:
    """The runner a front-end uses: embedded by default, the broker when one is configured."""
    if settings.broker_url:
        return BrokerRunner(settings, db, kinds)
    return JobRunner(settings, db, kinds)


__all__ = [
    "BrokerRunner",
    "WorkerExecutor",
    "make_runner",
    "run_worker",
]
