"""Chats' crates: which library tracks each Discord server, Telegram chat or terminal holds.

A crate entry points at a row of ``library_tracks`` (fingerprints live once in the
shared index, whatever number of crates hold the same content) and at the crate's
own copy of the audio under ``$CRATEBOT_HOME/crates/`` (kept for /sections and
/next). Entries are numbered per crate in the order they were added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow
from storage.db import SyncStore
from storage.library import LibraryTrack


class CrateTrack(Base):
    __tablename__ = "crate_tracks"
    __table_args__ = (Index("uq_crate_tracks_crate_track", "crate", "track_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crate: Mapped[str] = mapped_column(String(200))  # "telegram:-1001", "terminal:local"
    track_id: Mapped[int] = mapped_column(
        ForeignKey("library_tracks.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(1024))  # the crate's copy of the audio
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    added_by: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class CrateEntry:
    number: int  # 1-based position in the crate, as /crate list shows it
    id: int
    track_id: int
    path: str
    size_bytes: int
    artist: str | None
    title: str | None
    duration_s: float
    sha256: str
    added_at: dt.datetime

    @property
    def label(self) -> str:
        if self.artist and self.title:
            return f"{self.artist} — {self.title}"
        return self.title or self.artist or f"track {self.number}"


@dataclass(frozen=True)
class CrateTotals:
    tracks: int
    seconds: float
    size_bytes: int


class CrateStore(SyncStore):
    """Sync repository of crate entries (job workers and the command layer both use it)."""

    def entries(self, crate: str) -> list[CrateEntry]:
        with self.session() as s:
            rows = s.execute(
                select(CrateTrack, LibraryTrack)
                .join(LibraryTrack, LibraryTrack.id == CrateTrack.track_id)
                .where(CrateTrack.crate == crate)
                .order_by(CrateTrack.id)
            ).all()
        return [
            CrateEntry(
                n,
                c.id,
                c.track_id,
                c.path,
                c.size_bytes,
                t.artist,
                t.title,
                t.duration_s,
                t.sha256,
                c.added_at,
            )
            for n, (c, t) in enumerate(rows, start=1)
        ]

    def totals(self, crate: str) -> CrateTotals:
        with self.session() as s:
            count, seconds, size = s.execute(
                select(
                    func.count(CrateTrack.id),
                    func.coalesce(func.sum(LibraryTrack.duration_s), 0.0),
                    func.coalesce(func.sum(CrateTrack.size_bytes), 0),
                )
                .join(LibraryTrack, LibraryTrack.id == CrateTrack.track_id)
                .where(CrateTrack.crate == crate)
            ).one()
        return CrateTotals(int(count), float(seconds), int(size))

    def holds(self, crate: str, track_id: int) -> bool:
        with self.session() as s:
            found = s.scalar(
                select(CrateTrack.id).where(
                    CrateTrack.crate == crate, CrateTrack.track_id == track_id
                )
            )
            return found is not None

    def add(self, crate: str, track_id: int, path: str, size_bytes: int, added_by: str) -> bool:
        """False when the crate already holds that track (same content)."""
        with self.session() as s:
            exists = s.scalar(
                select(CrateTrack.id).where(
                    CrateTrack.crate == crate, CrateTrack.track_id == track_id
                )
            )
            if exists is not None:
                return False
            s.add(
                CrateTrack(
                    crate=crate,
                    track_id=track_id,
                    path=path,
                    size_bytes=size_bytes,
                    added_by=added_by,
                )
            )
            return True

    def remove(self, crate: str, entry_id: int) -> None:
        with self.session() as s:
            s.execute(
                delete(CrateTrack).where(CrateTrack.crate == crate, CrateTrack.id == entry_id)
            )

    def holders(self, track_id: int) -> int:
        """How many crates hold ``track_id``."""
        with self.session() as s:
            return int(
                s.scalar(select(func.count(CrateTrack.id)).where(CrateTrack.track_id == track_id))
                or 0
            )

    def paths_in_use(self, path: str) -> int:
        with self.session() as s:
            return int(
                s.scalar(select(func.count(CrateTrack.id)).where(CrateTrack.path == path)) or 0
            )
