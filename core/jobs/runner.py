"""The shared async job runner.

Every front-end calls ``submit``; the runner persists each job, starts it in its
own worker process when its kind has a free slot, streams progress to
subscribers, publishes result files and survives crashes: jobs found ``running``
with a stale heartbeat at start-up are re-queued (bounded attempts) or failed
with a reason. State lives in the database, so ``cratebot jobs cancel`` from
another process reaches a running job through the ``cancel_requested`` flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BadInput, CrateBotError, NotAvailable
from core.jobs.kinds import JobKind, builtin_kinds
from core.jobs.messages import Done, Ended, Failed, Outcome, ProgressReport, WorkerMessage
from core.jobs.types import JobState
from core.jobs.worker import WorkerTask, worker_main
from core.settings import Settings
from storage.base import utcnow
from storage.db import Database
from storage.files import sha256_file
from storage.jobs_repo import JobRepository, OwnerLimits
from storage.models import Job
from storage.results import ResultStore

log = logging.getLogger("cratebot.runner")


class QuotaExceeded(CrateBotError):
    """The owner already has as many unfinished jobs, or jobs today, as allowed."""


@dataclass(frozen=True)
class OwnerRef:
    platform: str
    user_id: str
    display_name: str | None = None


@dataclass(frozen=True)
class JobView:
    """A plain snapshot of a job for front-ends."""

    id: str
    kind: str
    state: JobState
    progress: float
    text: str
    error: str | None = None
    result: dict[str, Any] | None = None
    attempts: int = 0
    created_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    files: tuple[str, ...] = ()

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            id=job.id,
            kind=job.kind,
            state=JobState(job.state),
            progress=job.progress,
            text=job.progress_text,
            error=job.error,
            result=job.result,
            attempts=job.attempts,
            created_at=job.created_at,
            finished_at=job.finished_at,
            files=tuple((job.result or {}).get("files", ())),
        )


@dataclass(frozen=True)
class Submission:
    """What ``submit`` answers: the job as it stands, and whether dedupe reused an
    equal job (queued, running or done) instead of queueing a new one."""

    view: JobView
    reused: bool

    @property
    def id(self) -> str:
        return self.view.id


@dataclass
class _Running:
    job: Job
    kind: JobKind
    process: Any
    started: float
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    last_persist: float = 0.0
    last_event: float = 0.0
    stopping: bool = False


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def dedupe_key(kind: JobKind, params: dict[str, Any]) -> str:
    """Same kind, same parameters and same input *content* give the same key."""
    keyed: dict[str, Any] = {"kind": kind.name, "params": params}
    contents: dict[str, str] = {}
    for name in kind.input_params:
        values = params.get(name)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and "://" not in value and Path(value).is_file():
                contents[value] = sha256_file(Path(value))
    # Paths differ between uploads of the same file; their content is what counts.
    if contents:
        keyed["params"] = {
            k: (
                contents.get(v, v)
                if isinstance(v, str)
                else [contents.get(x, x) for x in v]
                if isinstance(v, list)
                else v
            )
            for k, v in params.items()
        }
    return hashlib.sha256(_canonical(keyed).encode()).hexdigest()


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        kinds: dict[str, JobKind] | None = None,
        *,
        poll_interval_s: float = 0.5,
        heartbeat_s: float = 5.0,
        stale_after_s: float = 30.0,
        retry_base_s: float = 5.0,
        progress_persist_s: float = 1.0,
        sweep_interval_s: float = 3600.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.repo = JobRepository(db)
        self.results = ResultStore(db, settings.results_dir, settings.result_retention_days)
        self.kinds = kinds if kinds is not None else builtin_kinds(settings)
        self.runner_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.poll_interval_s = poll_interval_s
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.retry_base_s = retry_base_s
        self.progress_persist_s = progress_persist_s
        self.sweep_interval_s = sweep_interval_s
        self._running: dict[str, _Running] = {}
        self._subscribers: dict[str, set[asyncio.Queue[JobView]]] = {}
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[None] | None = None
        self._accepting = False
        self._mp = mp.get_context("spawn")

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        self.settings.ensure_dirs()
        await self.recover(stale_before=utcnow() - dt.timedelta(seconds=self.stale_after_s))
        self._accepting = True
        self._main = asyncio.create_task(self._loop(), name="job-runner")

    async def __aenter__(self) -> JobRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop taking work; running jobs are stopped and re-queued for the next start."""
        self._accepting = False
        if self._main is not None:
            # Let the loop finish its current database call: cancelling a task in the
            # middle of an aiosqlite transaction can leave the connection hanging.
            self._wake.set()
            await self._main
            self._main = None
        for running in list(self._running.values()):
            running.stopping = True
            running.cancel.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- submission -----------------------------------------------------------
    def kind(self, name: str) -> JobKind:
        kind = self.kinds.get(name)
        if kind is None:
            raise BadInput(f"unknown job kind {name!r}")
        if not kind.available():
            raise NotAvailable(f"{name} is not available in this installation yet")
        return kind

    async def submit(
        self, kind: str | JobKind, params: dict[str, Any], owner: OwnerRef | None = None
    ) -> Submission:
        """Queue a job, or reuse an equal job already done or under way.

        ``kind`` is a name, or the :class:`JobKind` that :meth:`kind` already returned
        (so a caller that checked availability early does not check it twice). An
        owner's quotas (unfinished jobs, jobs per day) are checked in the same database
        transaction as the insert; :class:`QuotaExceeded` says which one is full.
        """
        spec = kind if isinstance(kind, JobKind) else self.kind(kind)
        params = json.loads(_canonical(params))  # JSON-safe, detached from the caller
        key = await asyncio.to_thread(dedupe_key, spec, params)
        existing = await self.repo.find_reusable(key)
        if existing is not None:
            return Submission(JobView.of(existing), reused=True)
        owner_id = limits = None
        if owner is not None:
            owner_id = await self.repo.owner_id(owner.platform, owner.user_id, owner.display_name)
            limits = OwnerLimits(
                self.settings.max_queued_jobs_per_owner, self.settings.max_jobs_per_day_per_owner
            )
        job = await self.repo.create(
            uuid.uuid4().hex[:12], spec.name, params, owner_id, key, spec.max_attempts, limits
        )
        if job.refused is not None:
            refused = job.refused
            if refused.which == "active":
                raise QuotaExceeded(
                    f"you already have {refused.count} unfinished jobs (the limit is "
                    f"{refused.limit}); wait for one to finish or cancel one"
                )
            raise QuotaExceeded(
                f"you have started {refused.count} jobs in the last 24 hours (the limit is "
                f"{refused.limit}); try again later"
            )
        assert job.job is not None
        self._wake.set()
        return Submission(JobView.of(job.job), reused=False)

    async def get(self, job_id: str) -> JobView | None:
        job = await self.repo.get(job_id)
        return JobView.of(job) if job else None

    async def cancel(self, job_id: str) -> str | None:
        """Cancel a job; a running worker is killed within about a second."""
        state = await self.repo.request_cancel(job_id)
        running = self._running.get(job_id)
        if running is not None:
            running.cancel.set()
        if state == "cancelled":
            await self._notify(job_id)
        return state

    # -- progress stream ------------------------------------------------------
    async def subscribe(self, job_id: str, poll_s: float = 1.0) -> AsyncIterator[JobView]:
        """Yield snapshots as the job advances, ending with its terminal state."""
        queue: asyncio.Queue[JobView] = asyncio.Queue()
        self._subscribers.setdefault(job_id, set()).add(queue)
        try:
            view = await self.get(job_id)
            if view is None:
                raise BadInput(f"no job {job_id}")
            yield view
            last = view
            while not last.state.terminal:
                try:
                    view = await asyncio.wait_for(queue.get(), timeout=poll_s)
                except TimeoutError:
                    # Jobs run by another runner process only reach us through the database.
                    fresh = await self.get(job_id)
                    if fresh is None:
                        return
                    if (fresh.state, fresh.progress, fresh.text) == (
                        last.state,
                        last.progress,
                        last.text,
                    ):
                        continue
                    view = fresh
                last = view
                yield view
        finally:
            subs = self._subscribers.get(job_id)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    self._subscribers.pop(job_id, None)

    async def wait(self, job_id: str, timeout: float | None = None) -> JobView:
        async def _until_done() -> JobView:
            last: JobView | None = None
            async for view in self.subscribe(job_id):
                last = view
            assert last is not None
            return last

        return await asyncio.wait_for(_until_done(), timeout)

    def _push(self, view: JobView) -> None:
        for queue in self._subscribers.get(view.id, ()):
            queue.put_nowait(view)

    async def _notify(self, job_id: str) -> None:
        if job_id in self._subscribers:
            view = await self.get(job_id)
            if view is not None:
                self._push(view)

    # -- recovery and sweeping ------------------------------------------------
    async def recover(self, stale_before: dt.datetime) -> list[str]:
        """Re-queue or fail jobs left ``running`` by a runner that died."""
        touched = []
        for job in await self.repo.stale_running(stale_before):
            if job.id in self._running:
                continue
            if job.attempts < job.max_attempts:
                ok = await self.repo.requeue(
                    job.id,
                    None,
                    f"recovered: the runner stopped during attempt {job.attempts} of "
                    f"{job.max_attempts}; queued again",
                    event_type="recover",
                )
            else:
                ok = await self.repo.finish(
                    job.id,
                    "failed",
                    error=f"the runner stopped during this job {job.attempts} times; giving up",
                )
            if ok:
                touched.append(job.id)
                log.warning("recovered job %s", job.id)
        return touched

    async def sweep(self) -> Any:
        report = await self.results.sweep()
        work = self.settings.work_dir
        if work.is_dir():
            for folder in work.iterdir():
                if folder.name not in self._running:
                    job = await self.repo.get(folder.name)
                    if job is None or JobState(job.state).terminal:
                        shutil.rmtree(folder, ignore_errors=True)
        return report

    # -- the loop -------------------------------------------------------------
    def _free_slots(self) -> dict[str, int]:
        busy: dict[str, int] = {}
        for running in self._running.values():
            busy[running.kind.name] = busy.get(running.kind.name, 0) + 1
        return {
            name: kind.concurrency - busy.get(name, 0)
            for name, kind in self.kinds.items()
            if kind.available()
        }

    async def _loop(self) -> None:
        last_beat = last_sweep = last_recover = time.monotonic()
        while self._accepting:
            try:
                while self._accepting:
                    job = await self.repo.claim_next(self._free_slots(), self.runner_id)
                    if job is None:
                        break
                    self._launch(job)
                now = time.monotonic()
                if now - last_beat >= self.heartbeat_s:
                    last_beat = now
                    await self.repo.heartbeat(self._running)
                if self._running:
                    for job_id in await self.repo.cancel_requested(self._running):
                        self._running[job_id].cancel.set()
                if now - last_recover >= self.stale_after_s:
                    last_recover = now
                    await self.recover(utcnow() - dt.timedelta(seconds=self.stale_after_s))
                if now - last_sweep >= self.sweep_interval_s:
                    last_sweep = now
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end the runner
                log.exception("runner loop error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    def _launch(self, job: Job) -> None:
        kind = self.kinds[job.kind]
        running = _Running(job=job, kind=kind, process=None, started=time.monotonic())
        self._running[job.id] = running
        task = asyncio.create_task(self._execute(running), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, running: _Running) -> None:
        job = running.job
        try:
            await self._notify(job.id)
            outcome = await self._run_worker(running)
            await self._settle(running, outcome)
        except Exception as exc:  # never leave a job running without a worker
            log.exception("job %s crashed in the runner", job.id)
            await self.repo.finish(job.id, "failed", error=f"internal error: {exc}")
        finally:
            self._running.pop(job.id, None)
            await self._notify(job.id)
            self._wake.set()

    async def _run_worker(self, running: _Running) -> Outcome:
        job = running.job
        workdir = self.settings.work_dir / job.id / f"attempt-{job.attempts}"
        if workdir.exists():
            shutil.rmtree(workdir)
        task = WorkerTask(running.kind, job.id, job.attempts, job.params, self.settings, workdir)
        parent_conn, child_conn = self._mp.Pipe(duplex=False)
        process = self._mp.Process(
            target=worker_main,
            args=(task, child_conn, os.getpid()),
            name=f"cratebot-job-{job.id}",
            daemon=False,
        )
        process.start()
        child_conn.close()
        running.process = process
        await self.repo.set_worker(job.id, process.pid)

        loop = asyncio.get_running_loop()
        # None: the pipe closed (the worker exited, maybe without a word).
        inbox: asyncio.Queue[WorkerMessage | None] = asyncio.Queue()

        def readable() -> None:
            try:
                while parent_conn.poll():
                    inbox.put_nowait(parent_conn.recv())
            except (EOFError, OSError):
                loop.remove_reader(parent_conn.fileno())
                inbox.put_nowait(None)

        loop.add_reader(parent_conn.fileno(), readable)
        deadline = running.started + running.kind.timeout_s
        cancel_wait = asyncio.ensure_future(running.cancel.wait())
        outcome: Outcome | None = None
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    outcome = Ended("timeout")
                    break
                getter = asyncio.ensure_future(inbox.get())
                done, _ = await asyncio.wait(
                    {getter, cancel_wait}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                if cancel_wait in done:
                    outcome = Ended("stopped" if running.stopping else "cancelled")
                    break
                if not done:
                    continue
                message = getter.result()
                if isinstance(message, ProgressReport):
                    await self._on_progress(running, message.fraction, message.text)
                    continue
                outcome = message
                break
        finally:
            cancel_wait.cancel()
            with contextlib.suppress(Exception):
                loop.remove_reader(parent_conn.fileno())
            await self._reap(process, kill=isinstance(outcome, Ended))
            parent_conn.close()
        if outcome is None:
            code = process.exitcode
            reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            outcome = Failed("crash", f"the worker process died ({reason})")
        return outcome

    async def _reap(self, process: Any, kill: bool) -> None:
        if kill and process.is_alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            process.terminate()  # in case it had not yet made its own process group
            for _ in range(20):
                if not process.is_alive():
                    break
                await asyncio.sleep(0.05)
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.kill()
        # A finished worker may still have children in its group (e.g. ffmpeg).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.join, 10)

    async def _on_progress(self, running: _Running, fraction: float, text: str) -> None:
        job = running.job
        job.progress, job.progress_text = fraction, text
        self._push(
            JobView(
                id=job.id,
                kind=job.kind,
                state=JobState.RUNNING,
                progress=fraction,
                text=text,
                attempts=job.attempts,
                created_at=job.created_at,
            )
        )
        now = time.monotonic()
        if now - running.last_persist >= self.progress_persist_s:
            event = now - running.last_event >= 5 * self.progress_persist_s
            running.last_persist = now
            if event:
                running.last_event = now
            await self.repo.progress(job.id, fraction, text, event=event)

    async def _settle(self, running: _Running, outcome: Outcome) -> None:
        job = running.job
        workdir = self.settings.work_dir / job.id
        if isinstance(outcome, Done):
            published = await self.results.publish(
                job.id, workdir / f"attempt-{job.attempts}", list(outcome.files)
            )
            result = {**outcome.result, "files": [row.name for row in published]}
            await self.repo.finish(job.id, "succeeded", result=result, message="done")
            shutil.rmtree(workdir, ignore_errors=True)
        elif isinstance(outcome, Failed):
            await self._failed(running, outcome)
        elif outcome.reason == "cancelled":
            await self.repo.finish(job.id, "cancelled", message="cancelled while running")
            shutil.rmtree(workdir, ignore_errors=True)
        elif outcome.reason == "stopped":
            await self.repo.requeue(
                job.id,
                None,
                "the runner stopped; queued again",
                event_type="recover",
                refund_attempt=True,
            )
        else:
            limit = running.kind.timeout_s
            await self.repo.finish(
                job.id,
                "failed",
                error=f"timed out after {limit:.0f} s (the limit for {job.kind} jobs)",
            )
            shutil.rmtree(workdir, ignore_errors=True)

    async def _failed(self, running: _Running, failure: Failed) -> None:
        job = running.job
        message = failure.message
        if failure.trace:
            log.error("job %s failed: %s\n%s", job.id, message, failure.trace)
        if failure.category == "transient" and job.attempts < job.max_attempts:
            delay = min(self.retry_base_s * 2 ** (job.attempts - 1), 300.0)
            await self.repo.requeue(
                job.id,
                utcnow() + dt.timedelta(seconds=delay),
                f"{message}; retrying in {delay:.0f} s (attempt {job.attempts} of "
                f"{job.max_attempts})",
            )
            asyncio.get_running_loop().call_later(delay, self._wake.set)
        else:
            await self.repo.finish(job.id, "failed", error=message)
            shutil.rmtree(self.settings.work_dir / job.id, ignore_errors=True)
