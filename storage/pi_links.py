"""Which venue Pi each Discord server / Telegram chat controls, with its token encrypted.

The token is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key the caller
derives from ``CRATEBOT_SECRET``; the database alone never reveals it, and a row
encrypted under another secret reads as "token unreadable" instead of garbage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Index, Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow
from storage.db import Database


class PiLinkRow(Base):
    __tablename__ = "pi_links"
    __table_args__ = (Index("uq_pi_links_platform_chat", "platform", "chat_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    linked_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TokenUnreadable(Exception):
    """The stored token was encrypted under another secret (CRATEBOT_SECRET changed)."""


@dataclass(frozen=True)
class PiLink:
    platform: str
    chat_id: str
    host: str
    port: int
    linked_by: str | None
    updated_at: dt.datetime
    _token_encrypted: bytes

    def token(self, fernet: Fernet) -> str:
        try:
            return fernet.decrypt(self._token_encrypted).decode()
        except InvalidToken as exc:
            raise TokenUnreadable(
                "the stored Pi token cannot be decrypted (was CRATEBOT_SECRET changed?); "
                "link the Pi again"
            ) from exc

    def __repr__(self) -> str:  # never show the token, even encrypted
        return f"PiLink({self.platform}:{self.chat_id} -> {self.host}:{self.port})"


class PiLinkStore:
    def __init__(self, db: Database, fernet: Fernet) -> None:
        self.db = db
        self.fernet = fernet

    async def get(self, platform: str, chat_id: str) -> PiLink | None:
        async with self.db.session() as s:
            row = await s.scalar(
                select(PiLinkRow).where(
                    PiLinkRow.platform == platform, PiLinkRow.chat_id == chat_id
                )
            )
            if row is None:
                return None
            return PiLink(
                row.platform,
                row.chat_id,
                row.host,
                row.port,
                row.linked_by,
                row.updated_at,
                row.token_encrypted,
            )

    async def set(
        self,
        platform: str,
        chat_id: str,
        host: str,
        port: int,
        token: str,
        linked_by: str | None = None,
    ) -> None:
        """Link (or re-link) the chat's Pi."""
        secret = self.fernet.encrypt(token.encode())
        async with self.db.session() as s:
            row = await s.scalar(
                select(PiLinkRow).where(
                    PiLinkRow.platform == platform, PiLinkRow.chat_id == chat_id
                )
            )
            if row is None:
                s.add(
                    PiLinkRow(
                        platform=platform,
                        chat_id=chat_id,
                        host=host,
                        port=port,
                        token_encrypted=secret,
                        linked_by=linked_by,
                    )
                )
            else:
                row.host, row.port, row.token_encrypted = host, port, secret
                row.linked_by, row.updated_at = linked_by, utcnow()

    async def remove(self, platform: str, chat_id: str) -> bool:
        async with self.db.session() as s:
            done = await s.execute(
                delete(PiLinkRow).where(
                    PiLinkRow.platform == platform, PiLinkRow.chat_id == chat_id
                )
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]
