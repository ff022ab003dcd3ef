"""API tokens for ``cratebot serve``'s HTTP API, stored as SHA-256 hashes.

A token is 256 random bits, so a plain SHA-256 is enough to make the table useless to
a thief (no salt or slow hash needed: there is nothing to brute-force), and a lookup
is one indexed equality. The token itself is shown once, when it is created.

Tokens act for an *owner*, the same ``owners`` row the chat front-ends use
(``platform`` + ``user_id``), so jobs, quotas and limits are shared with chat.
``job_shares`` records jobs an owner reached through dedupe (the runner handed back
an equal job that someone else started), so the API can show them to that owner too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ForeignKey, Index, Integer, String, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow
from storage.db import Database
from storage.models import Job, Owner

TOKEN_PREFIX = "cbt_"
_TOUCH_EVERY = dt.timedelta(minutes=1)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (Index("uq_api_tokens_hash", "token_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128), default="")
    token_hash: Mapped[str] = mapped_column(String(64))
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class JobShareRow(Base):
    __tablename__ = "job_shares"
    __table_args__ = (Index("uq_job_shares_job_owner", "job_id", "owner_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class TokenOwner:
    """Who a valid token acts for."""

    token_id: int
    owner_id: int
    platform: str
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    owner: str
    name: str
    hint: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_owner(text: str) -> tuple[str, str]:
    """``PLATFORM:ID`` (e.g. ``telegram:42``) as the command layer names owners."""
    platform, sep, user_id = text.strip().partition(":")
    platform, user_id = platform.strip().lower(), user_id.strip()
    if not sep or not platform or not user_id:
        raise ValueError(f"owner {text!r} is not PLATFORM:ID (e.g. telegram:42, discord:1234)")
    if len(platform) > 32 or len(user_id) > 128 or not platform.replace("_", "").isalnum():
        raise ValueError(f"owner {text!r} is not PLATFORM:ID (e.g. telegram:42, discord:1234)")
    return platform, user_id


class TokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _owner_id(self, platform: str, user_id: str, display_name: str | None) -> int:
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

    async def create(
        self, platform: str, user_id: str, name: str = "", display_name: str | None = None
    ) -> tuple[int, str]:
        """A new token for the owner: ``(id, token)``; the token is not stored anywhere."""
        owner_id = await self._owner_id(platform, user_id, display_name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.session() as s:
            row = ApiTokenRow(
                owner_id=owner_id,
                name=name[:128],
                token_hash=hash_token(token),
                hint=token[:10],
            )
            s.add(row)
            await s.flush()
            return row.id, token

    async def verify(self, token: str) -> TokenOwner | None:
        """The owner of a valid, unrevoked token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        now = utcnow()
        async with self.db.session() as s:
            found = (
                await s.execute(
                    select(ApiTokenRow, Owner)
                    .join(Owner, Owner.id == ApiTokenRow.owner_id)
                    .where(ApiTokenRow.token_hash == hash_token(token))
                )
            ).first()
            if found is None:
                return None
            row, owner = found
            if row.revoked_at is not None:
                return None
            # Written at most once a minute per token: a busy client must not turn every
            # read into a write (SQLite serialises writers).
            if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
                row.last_used_at = now
            return TokenOwner(row.id, owner.id, owner.platform, owner.user_id)

    async def list(self) -> list[TokenInfo]:
        async with self.db.session() as s:
            rows = (
                await s.execute(
                    select(ApiTokenRow, Owner)
                    .join(Owner, Owner.id == ApiTokenRow.owner_id)
                    .order_by(ApiTokenRow.id)
                )
            ).all()
        return [
            TokenInfo(
                row.id,
                f"{owner.platform}:{owner.user_id}",
                row.name,
                row.hint,
                row.created_at,
                row.last_used_at,
                row.revoked_at,
            )
            for row, owner in rows
        ]

    async def revoke(self, token_id: int) -> bool:
        """True when the token existed and was live; False when unknown or already revoked."""
        async with self.db.session() as s:
            done = await s.execute(
                update(ApiTokenRow)
                .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    async def exists(self, token_id: int) -> bool:
        async with self.db.session() as s:
            return await s.get(ApiTokenRow, token_id) is not None

    # -- which jobs an owner may see ---------------------------------------------
    async def share(self, job_id: str, owner_id: int) -> None:
        """Let ``owner_id`` see a job it reached through dedupe."""
        async with self.db.session() as s:
            job = await s.get(Job, job_id)
            if job is None or job.owner_id == owner_id:
                return
            known = await s.scalar(
                select(JobShareRow.id).where(
                    JobShareRow.job_id == job_id, JobShareRow.owner_id == owner_id
                )
            )
            if known is None:
                s.add(JobShareRow(job_id=job_id, owner_id=owner_id))

    async def visible_job(self, job_id: str, owner_id: int) -> Job | None:
        """The job if this owner started it or reached it through dedupe, else None."""
        async with self.db.session() as s:
            return await s.scalar(
                select(Job).where(
                    Job.id == job_id,
                    or_(
                        Job.owner_id == owner_id,
                        Job.id.in_(
                            select(JobShareRow.job_id).where(JobShareRow.owner_id == owner_id)
                        ),
                    ),
                )
            )

    async def visible_jobs(
        self, owner_id: int, states: tuple[str, ...] = (), limit: int = 20
    ) -> list[Job]:
        async with self.db.session() as s:
            query = (
                select(Job)
                .where(
                    or_(
                        Job.owner_id == owner_id,
                        Job.id.in_(
                            select(JobShareRow.job_id).where(JobShareRow.owner_id == owner_id)
                        ),
                    )
                )
                .order_by(Job.created_at.desc())
                .limit(limit)
            )
            if states:
                query = query.where(Job.state.in_(states))
            return list((await s.scalars(query)).all())
