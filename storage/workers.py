"""Scale-out bookkeeping: worker heartbeats, atomic submission, dispatch marks, stale sweeps.

Every transition is one conditional statement, so any number of front-ends and workers
on any number of machines can share one database: the row that matches wins, the others
see ``rowcount == 0`` and move on.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from storage.base import Base, UTCDateTime, utcnow
from storage.db import Database
from storage.jobs_repo import (
    OwnerLimits,
    add_queued_job,
    quota_refusal,
    reusable_job,
)
from storage.models import Job, JobEvent, Owner


class Worker(Base):
    """One ``cratebot worker`` process; its heartbeat says it is alive."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    queues: Mapped[str] = mapped_column(String(512))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Submitted(enum.Enum):
    CREATED = "created"
    REUSED = "reused"
    QUOTA = "quota"


# An owner's limits: unfinished jobs at once, and jobs submitted in 24 hours.
Quota = OwnerLimits


@dataclass(frozen=True)
class Submission:
    outcome: Submitted
    job_id: str | None = None
    # With QUOTA: which limit ("active" or "daily"), the owner's count and the limit.
    which: str = ""
    count: int = 0
    limit: int = 0
    job: Job | None = None  # the created or reused job (CREATED, REUSED)


@dataclass(frozen=True)
class Swept:
    job_id: str
    kind: str
    requeued: bool  # False: failed for good (attempts used up)


class ScaleoutRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- submission ------------------------------------------------------------
    async def submit(
        self,
        job_id: str,
        kind: str,
        params: dict[str, Any],
        owner: tuple[str, str, str | None] | None,
        dedupe_key: str,
        max_attempts: int,
        quota: Quota | None,
    ) -> Submission:
        """Create a job unless an equal one is reusable or the owner is at the quota, atomically.

        One transaction (submission latency is one round trip of locks and inserts, plus
        the broker's publish): the owner row is created or locked (``SELECT ... FOR
        UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers)
        so concurrent submissions from several front-end processes count each other.
        Dedupe across owners is held by the unique partial index ``uq_jobs_active_dedupe``:
        the loser of a race gets an IntegrityError and returns the winner's job. The job
        is created marked as dispatched; the caller publishes it right after the commit
        (or clears the mark if the broker refuses, so the sweep publishes it later).
        """
        for _ in range(3):
            try:
                return await self._submit_once(
                    job_id, kind, params, owner, dedupe_key, max_attempts, quota
                )
            except IntegrityError:  # a concurrent twin (same owner row or same dedupe key)
                continue
        raise RuntimeError("could not submit the job: concurrent submissions kept colliding")

    async def _submit_once(
        self,
        job_id: str,
        kind: str,
        params: dict[str, Any],
        owner: tuple[str, str, str | None] | None,
        dedupe_key: str,
        max_attempts: int,
        quota: Quota | None,
    ) -> Submission:
        async with self.db.session() as s:
            owner_id: int | None = None
            if owner is not None:
                platform, user_id, display_name = owner
                owner_id = await s.scalar(
                    select(Owner.id)
                    .where(Owner.platform == platform, Owner.user_id == user_id)
                    .with_for_update()
                )
                if owner_id is None:
                    row = Owner(platform=platform, user_id=user_id, display_name=display_name)
                    s.add(row)
                    await s.flush()
                    owner_id = row.id
            reusable = await reusable_job(s, dedupe_key)
            if reusable is not None:
                return Submission(Submitted.REUSED, reusable.id, job=reusable)
            if owner_id is not None and quota is not None:
                refused = await quota_refusal(s, owner_id, quota)
                if refused is not None:
                    return Submission(
                        Submitted.QUOTA, None, refused.which, refused.count, refused.limit
                    )
            job = await add_queued_job(
                s, job_id, kind, params, owner_id, dedupe_key, max_attempts, utcnow()
            )
        return Submission(Submitted.CREATED, job_id, job=job)

    # -- dispatch marks --------------------------------------------------------
    async def mark_dispatched(self, job_id: str) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "queued")
                .values(dispatched_at=utcnow())
            )

    async def clear_dispatch(self, job_id: str) -> None:
        """A re-queued job needs a new message (sent once its ``not_before`` has passed)."""
        async with self.db.session() as s:
            await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "queued")
                .values(dispatched_at=None)
            )

    async def undispatched(
        self,
        now: dt.datetime | None = None,
        limit: int = 100,
        redispatch_before: dt.datetime | None = None,
    ) -> list[Job]:
        """Queued jobs that need a message: none sent yet (a retry whose delay has passed,
        a publish the broker refused), or, with ``redispatch_before``, one sent before then
        and still not taken (a front-end that died between commit and publish, a message a
        dying worker had reserved). A duplicate message is harmless: only one claim wins.
        """
        now = now or utcnow()
        lost: ColumnElement[bool] = Job.dispatched_at.is_(None)
        if redispatch_before is not None:
            lost = or_(lost, Job.dispatched_at < redispatch_before)
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(Job)
                        .where(
                            Job.state == "queued",
                            lost,
                            or_(Job.not_before.is_(None), Job.not_before <= now),
                        )
                        .order_by(Job.created_at)
                        .limit(limit)
                    )
                ).all()
            )

    # -- running ---------------------------------------------------------------
    async def claim(self, job_id: str, worker_id: str) -> Job | None:
        """Move this queued job to running for this worker; None when someone else has it."""
        now = utcnow()
        async with self.db.session() as s:
            claimed = await s.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.state == "queued",
                    or_(Job.not_before.is_(None), Job.not_before <= now),
                )
                .values(
                    state="running",
                    runner_id=worker_id,
                    attempts=Job.attempts + 1,
                    started_at=now,
                    heartbeat_at=now,
                    progress=0.0,
                    progress_text="starting",
                    not_before=None,
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            job = await s.get(Job, job_id)
            assert job is not None
            s.add(
                JobEvent(
                    job_id=job_id,
                    type="state",
                    state="running",
                    message=f"attempt {job.attempts} of {job.max_attempts} on worker {worker_id}",
                )
            )
            return job

    # -- workers and heartbeats ------------------------------------------------
    async def register(self, worker_id: str, hostname: str, pid: int, queues: str) -> None:
        async with self.db.session() as s:
            s.add(Worker(id=worker_id, hostname=hostname, pid=pid, queues=queues[:512]))

    async def beat(self, worker_id: str, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)
        now = utcnow()
        async with self.db.session() as s:
            await s.execute(update(Worker).where(Worker.id == worker_id).values(heartbeat_at=now))
            if ids:
                await s.execute(
                    update(Job)
                    .where(Job.id.in_(ids), Job.state == "running", Job.runner_id == worker_id)
                    .values(heartbeat_at=now)
                )

    async def stopped(self, worker_id: str) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(Worker).where(Worker.id == worker_id).values(stopped_at=utcnow())
            )

    async def workers(self) -> list[Worker]:
        async with self.db.session() as s:
            return list((await s.scalars(select(Worker).order_by(Worker.started_at))).all())

    async def sweep_stale(self, older_than: dt.datetime) -> list[Swept]:
        """Re-queue (or, attempts used up, fail) running jobs whose worker stopped beating.

        Each row is moved only if it is *still* running with a stale heartbeat, so two
        sweepers, or a sweeper racing a worker that just claimed the job again, never
        both act on it.
        """
        stale_cond = and_(
            Job.state == "running",
            or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < older_than),
        )
        swept: list[Swept] = []
        async with self.db.session() as s:
            rows = (await s.execute(select(Job.id, Job.kind).where(stale_cond))).all()
        for job_id, kind in rows:
            async with self.db.session() as s:
                job = await s.get(Job, job_id)
                if job is None:
                    continue
                again = job.attempts < job.max_attempts
                values: dict[str, Any] = (
                    {
                        "state": "queued",
                        "runner_id": None,
                        "worker_pid": None,
                        "dispatched_at": None,
                        "progress_text": "queued again: its worker stopped",
                    }
                    if again
                    else {
                        "state": "failed",
                        "finished_at": utcnow(),
                        "worker_pid": None,
                        "error": f"its worker stopped during this job {job.attempts} times; "
                        "giving up",
                    }
                )
                done = await s.execute(
                    update(Job).where(Job.id == job_id, stale_cond).values(**values)
                )
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                message = (
                    f"recovered: the worker stopped during attempt {job.attempts} of "
                    f"{job.max_attempts}; queued again"
                    if again
                    else values["error"]
                )
                s.add(
                    JobEvent(
                        job_id=job_id,
                        type="recover" if again else "state",
                        state=values["state"],
                        message=message,
                    )
                )
                swept.append(Swept(job_id, kind, again))
        return swept
