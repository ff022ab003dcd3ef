"""Per-user daily job quota (the runner itself caps unfinished jobs per user)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from core.errors import CrateBotError
from storage.base import utcnow
from storage.db import Database
from storage.models import Job


class DailyQuotaExceeded(CrateBotError):
    pass


async def check_daily(db: Database, owner_id: int, limit: int) -> None:
    since = utcnow() - dt.timedelta(days=1)
    async with db.session() as s:
        started = int(
            await s.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.owner_id == owner_id, Job.created_at >= since)
            )
            or 0
        )
    if started >= limit:
        raise DailyQuotaExceeded(
            f"you have started {started} jobs in the last 24 hours (the limit is {limit}); "
            "try again later"
        )
