"""Repository for owners, jobs and job events: every state change goes through here.

Claims and transitions are single conditional UPDATEs (``WHERE state = ...``) so
several runner processes sharing one database can never run the same job twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select, update

from storage.base import utcnow
from storage.db import Database
from storage.models import Job, JobEvent, Owner, ResultFile

ACTIVE = ("queued", "running")


class ActiveLimitReached(Exception):
    """The owner already has ``active`` unfinished jobs, ``limit`` or more."""

    def __init__(self, active: int, limit: int) -> None:
        super().__init__(f"{active} unfinished jobs (limit {limit})")
        self.active = active
        self.limit = limit


class JobRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- owners ---------------------------------------------------------------
    async def owner_id(self, platform: str, user_id: str, display_name: str | None = None) -> int:
        async with self.db.session() as s:
            found = await s.scalar(
                select(Owner.id).where(Owner.platform == platform, Owner.user_id == user_id)
            )
            if found is not None:
                return found
            owner = Owner(platform=platform, user_id=user_id, display_name=display_name)
            s.add(owner)
            await s.flush()
            return owner.id

    # -- creation and lookup --------------------------------------------------
    async def create(
        self,
        job_id: str,
        kind: str,
        params: dict[str, Any],
        owner_id: int | None,
        dedupe_key: str | None,
        max_attempts: int,
        active_limit: int | None = None,
    ) -> None:
        """Insert a queued job. With ``active_limit``, the owner's unfinished jobs are
        counted and the job inserted in one transaction that holds the owner's row lock
        (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
        serialises writers), so concurrent submissions cannot overshoot the limit."""
        async with self.db.session() as s:
            if active_limit is not None and owner_id is not None:
                await s.execute(select(Owner.id).where(Owner.id == owner_id).with_for_update())
                active = int(
                    await s.scalar(
                        select(func.count())
                        .select_from(Job)
                        .where(Job.owner_id == owner_id, Job.state.in_(ACTIVE))
                    )
                    or 0
                )
                if active >= active_limit:
                    raise ActiveLimitReached(active, active_limit)
            s.add(
                Job(
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
                )
            )
            await s.flush()
            s.add(JobEvent(job_id=job_id, type="state", state="queued", message="submitted"))

    async def get(self, job_id: str) -> Job | None:
        async with self.db.session() as s:
            return await s.get(Job, job_id)

    async def find_reusable(self, dedupe_key: str) -> Job | None:
        """A queued/running job with this key, or a succeeded one whose files still exist."""
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(Job)
                    .where(
                        Job.dedupe_key == dedupe_key,
                        Job.state.in_(("queued", "running", "succeeded")),
                    )
                    .order_by(Job.created_at.desc())
                )
            ).all()
            for job in rows:
                if job.state != "succeeded":
                    return job
                gone = await s.scalar(
                    select(func.count())
                    .select_from(ResultFile)
                    .where(ResultFile.job_id == job.id, ResultFile.deleted_at.is_not(None))
                )
                if not gone:
                    return job
            return None

    async def count_active(self, owner_id: int) -> int:
        async with self.db.session() as s:
            return int(
                await s.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.owner_id == owner_id, Job.state.in_(ACTIVE))
                )
                or 0
            )

    async def list(
        self, owner_id: int | None = None, states: Sequence[str] | None = None, limit: int = 50
    ) -> list[Job]:
        async with self.db.session() as s:
            query = select(Job).order_by(Job.created_at.desc()).limit(limit)
            if owner_id is not None:
                query = query.where(Job.owner_id == owner_id)
            if states:
                query = query.where(Job.state.in_(tuple(states)))
            return list((await s.scalars(query)).all())

    async def events(self, job_id: str) -> list[JobEvent]:
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id)
                    )
                ).all()
            )

    async def results(self, job_id: str) -> list[ResultFile]:
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(ResultFile)
                        .where(ResultFile.job_id == job_id)
                        .order_by(ResultFile.id)
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

    async def cancel_requested(self, job_ids: Iterable[str]) -> list[str]:
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

    async def stale_running(self, older_than: dt.datetime) -> list[Job]:
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
