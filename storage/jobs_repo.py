"""Repository for owners, jobs and job events: every state change goes through here.

Claims and transitions are single conditional UPDATEs (``WHERE state = ...``) so
several runner processes sharing one database can never run the same job twice.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.base import utcnow
from storage.db import Database
from storage.models import Job, JobEvent, Owner, PublishedFile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

ACTIVE = ("queued", "running")
REUSABLE = ("queued", "running", "succeeded")


@dataclass(frozen=True)
class OwnerLimits:
    """An owner's quotas: unfinished jobs at once, and jobs started in 24 hours."""

    active: int
    per_day: int


@dataclass(frozen=True)
class QuotaRefusal:
    which: Literal["active", "daily"]
    count: int
    limit: int


@dataclass(frozen=True)
class Created:
    """The new job, or why the owner's quota refused it (then ``job`` is None)."""

    job: Job | None
    refused: QuotaRefusal | None = None


# Session-taking steps shared with ``storage.workers.ScaleoutRepository``: both submission
# paths must count quotas, find reusable jobs and insert queued jobs the same way.
async def quota_refusal(s: AsyncSession, owner_id: int, limits: OwnerLimits) -> QuotaRefusal | None:
    """Why the owner may not submit now: too many jobs today (waiting won't help, so it is
    named first), or too many unfinished ones."""
    since = utcnow() - dt.timedelta(days=1)
    today = await s.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.owner_id == owner_id, Job.created_at >= since)
    )
    if int(today or 0) >= limits.per_day:
        return QuotaRefusal("daily", int(today or 0), limits.per_day)
    active = await s.scalar(
        select(func.count()).select_from(Job).where(Job.owner_id == owner_id, Job.state.in_(ACTIVE))
    )
    if int(active or 0) >= limits.active:
        return QuotaRefusal("active", int(active or 0), limits.active)
    return None


async def reusable_job(s: AsyncSession, dedupe_key: str) -> Job | None:
    """A queued/running job with this key, or a succeeded one whose files all still exist."""
    rows = (
        await s.scalars(
            select(Job)
            .where(Job.dedupe_key == dedupe_key, Job.state.in_(REUSABLE))
            .order_by(Job.created_at.desc())
        )
    ).all()
    for job in rows:
        if job.state != "succeeded":
            return job
        gone = await s.scalar(
            select(func.count())
            .select_from(PublishedFile)
            .where(PublishedFile.job_id == job.id, PublishedFile.deleted_at.is_not(None))
        )
        if not gone:
            return job
    return None


async def add_queued_job(
    s: AsyncSession,
    job_id: str,
    kind: str,
    params: dict[str, Any],
    owner_id: int | None,
    dedupe_key: str | None,
    max_attempts: int,
    dispatched_at: dt.datetime | None = None,
) -> Job:
    """Insert a new queued job and its "submitted" event in the session's transaction."""
    now = utcnow()
    job = Job(
        id=job_id,
        kind=kind,
        state="queued",
        params=params,
        owner_id=owner_id,
        dedupe_key=dedupe_key,
        attempts=0,
        max_attempts=max_attempts,
        progress=0.0,
        progress_text="queued",
        cancel_requested=False,
        created_at=now,
        dispatched_at=dispatched_at,
    )
    s.add(job)
    await s.flush()  # the event's foreign key needs the job row first
    s.add(JobEvent(job_id=job_id, type="state", state="queued", message="submitted"))
    await s.flush()
    return job


class JobRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- owners ---------------------------------------------------------------
    async def owner_id(self, platform: str, user_id: str, display_name: str | None = None) -> int:
        query = select(Owner.id).where(Owner.platform == platform, Owner.user_id == user_id)
        try:
            async with self.db.session() as s:
                found = await s.scalar(query)
                if found is not None:
                    return found
                owner = Owner(platform=platform, user_id=user_id, display_name=display_name)
                s.add(owner)
                await s.flush()
                return owner.id
        except IntegrityError:  # another process added this owner at the same moment
            async with self.db.session() as s:
                found = await s.scalar(query)
            if found is None:
                raise
            return found

    # -- creation and lookup --------------------------------------------------
    async def create(
        self,
        job_id: str,
        kind: str,
        params: dict[str, Any],
        owner_id: int | None,
        dedupe_key: str | None,
        max_attempts: int,
        limits: OwnerLimits | None = None,
    ) -> Created:
        """Insert a queued job; with ``limits``, only if the owner's quotas allow it.

        The quota counts and the insert share one transaction that first writes the
        owner's row: that write lock (a row lock on PostgreSQL, the database write lock
        on SQLite) makes concurrent submissions of one owner take turns, so two of them
        cannot both pass a check that only one of them fits.
        """
        async with self.db.session() as s:
            if owner_id is not None and limits is not None:
                await s.execute(
                    update(Owner)
                    .where(Owner.id == owner_id)
                    .values(display_name=Owner.display_name)
                )
                refused = await quota_refusal(s, owner_id, limits)
                if refused is not None:
                    return Created(None, refused)
            job = await add_queued_job(s, job_id, kind, params, owner_id, dedupe_key, max_attempts)
            await s.refresh(job)
            return Created(job)

    async def get(self, job_id: str) -> Job | None:
        async with self.db.session() as s:
            return await s.get(Job, job_id)

    async def find_reusable(self, dedupe_key: str) -> Job | None:
        """A queued/running job with this key, or a succeeded one whose files still exist."""
        async with self.db.session() as s:
            return await reusable_job(s, dedupe_key)

    async def list(
        self, owner_id: int | None = None, states: Sequence[str] | None = None, limit: int = 50
    ) -> builtins.list[Job]:
        async with self.db.session() as s:
            query = select(Job).order_by(Job.created_at.desc()).limit(limit)
            if owner_id is not None:
                query = query.where(Job.owner_id == owner_id)
            if states:
                query = query.where(Job.state.in_(tuple(states)))
            return list((await s.scalars(query)).all())

    async def events(self, job_id: str) -> builtins.list[JobEvent]:
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id)
                    )
                ).all()
            )

    async def results(self, job_id: str) -> builtins.list[PublishedFile]:
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(PublishedFile)
                        .where(PublishedFile.job_id == job_id)
                        .order_by(PublishedFile.id)
                    )
                ).all()
            )

    # -- the runner's transitions ---------------------------------------------
    async def claim_next(self, free_slots: dict[str, int], runner_id: str) -> Job | None:
        """Atomically move the oldest runnable queued job of a kind with a free slot to running."""
        kinds = [kind for kind, free in free_slots.items() if free > 0]
        if not kinds:
            return None
        now = utcnow()
        async with self.db.session() as s:
            candidates = (
                await s.scalars(
                    select(Job)
                    .where(
                        Job.state == "queued",
                        Job.kind.in_(kinds),
                        or_(Job.not_before.is_(None), Job.not_before <= now),
                    )
                    .order_by(Job.created_at)
                    .limit(20)
                )
            ).all()
            for job in candidates:
                # Read before the UPDATE: the ORM applies "attempts + 1" to this object too.
                attempt = job.attempts + 1
                claimed = await s.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.state == "queued")
                    .values(
                        state="running",
                        runner_id=runner_id,
                        attempts=Job.attempts + 1,
                        started_at=now,
                        heartbeat_at=now,
                        progress=0.0,
                        progress_text="starting",
                        not_before=None,
                    )
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    s.add(
                        JobEvent(
                            job_id=job.id,
                            type="state",
                            state="running",
                            message=f"attempt {attempt} of {job.max_attempts}",
                        )
                    )
                    await s.flush()
                    await s.refresh(job)
                    return job
        return None

    async def set_worker(self, job_id: str, pid: int | None) -> None:
        async with self.db.session() as s:
            await s.execute(update(Job).where(Job.id == job_id).values(worker_pid=pid))

    async def progress(self, job_id: str, fraction: float, text: str, event: bool) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "running")
                .values(progress=fraction, progress_text=text[:256], heartbeat_at=utcnow())
            )
            if event:
                s.add(JobEvent(job_id=job_id, type="progress", fraction=fraction, message=text))

    async def heartbeat(self, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)
        if not ids:
            return
        async with self.db.session() as s:
            await s.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.state == "running")
                .values(heartbeat_at=utcnow())
            )

    async def finish(
        self,
        job_id: str,
        state: str,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
        message: str = "",
        from_states: Sequence[str] = ("running",),
    ) -> bool:
        async with self.db.session() as s:
            values: dict[str, Any] = {
                "state": state,
                "finished_at": utcnow(),
                "worker_pid": None,
                "error": error,
                "result": result,
            }
            if state == "succeeded":
                values.update(progress=1.0, progress_text="done")
            done = await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.state.in_(tuple(from_states)))
                .values(**values)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return False
            s.add(
                JobEvent(job_id=job_id, type="state", state=state, message=message or error or "")
            )
            return True

    async def requeue(
        self,
        job_id: str,
        not_before: dt.datetime | None,
        message: str,
        event_type: str = "retry",
        refund_attempt: bool = False,
    ) -> bool:
        async with self.db.session() as s:
            values: dict[str, Any] = {
                "state": "queued",
                "not_before": not_before,
                "worker_pid": None,
                "runner_id": None,
                "progress_text": message[:256],
            }
            if refund_attempt:
                values["attempts"] = Job.attempts - 1
            done = await s.execute(
                update(Job).where(Job.id == job_id, Job.state == "running").values(**values)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return False
            s.add(JobEvent(job_id=job_id, type=event_type, state="queued", message=message))
            return True

    async def request_cancel(self, job_id: str) -> str | None:
        """Cancel a queued job at once, or flag a running one; returns the state seen."""
        async with self.db.session() as s:
            job = await s.get(Job, job_id)
            if job is None:
                return None
            if job.state == "queued":
                job.state = "cancelled"
                job.finished_at = utcnow()
                s.add(
                    JobEvent(
                        job_id=job_id,
                        type="state",
                        state="cancelled",
                        message="cancelled before it started",
                    )
                )
                return "cancelled"
            if job.state == "running":
                job.cancel_requested = True
                return "cancelling"
            return job.state

    async def cancel_requested(self, job_ids: Iterable[str]) -> builtins.list[str]:
        ids = list(job_ids)
        if not ids:
            return []
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(Job.id).where(Job.id.in_(ids), Job.cancel_requested.is_(True))
                    )
                ).all()
            )

    async def stale_running(self, older_than: dt.datetime) -> builtins.list[Job]:
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(Job).where(
                            Job.state == "running",
                            or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < older_than),
                        )
                    )
                ).all()
            )
