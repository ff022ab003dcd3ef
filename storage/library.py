"""The local track library (for identification) and the online recognizers' answer cache.

Bulky fingerprint data lives beside the database in ``settings.library_dir``
(see ``core.identify.index``); these tables hold what people read and search.
Identification and indexing run in sync code (CLI, worker processes), so this
module also provides a plain sync engine on the same URL with the same SQLite
pragmas as ``storage.db``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    Index,
    Integer,
    String,
    delete,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow
from storage.db import SyncStore


class LibraryTrack(Base):
    __tablename__ = "library_tracks"
    __table_args__ = (
        Index("uq_library_tracks_sha256", "sha256", unique=True),
        Index("ix_library_tracks_path", "path"),
        # Ids are baked into the fingerprint index: never reuse a removed one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    artist: Mapped[str | None] = mapped_column(String(512))
    title: Mapped[str | None] = mapped_column(String(512))
    duration_s: Mapped[float] = mapped_column(Float)
    hashes: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # False for tracks that are only in chats' crates (storage.crates), not in the
    # operator's library: `cratebot id` and `library list` leave them out.
    in_library: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class RecognizerCache(Base):
    """Answers of online recognizers, keyed by service and the audio window's hash."""

    __tablename__ = "recognizer_cache"

    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class TrackInfo:
    id: int
    path: str
    sha256: str
    artist: str | None
    title: str | None
    duration_s: float
    hashes: int
    added_at: dt.datetime

    @classmethod
    def of(cls, row: LibraryTrack) -> TrackInfo:
        return cls(
            row.id,
            row.path,
            row.sha256,
            row.artist,
            row.title,
            row.duration_s,
            row.hashes,
            row.added_at,
        )


class LibraryStore(SyncStore):
    """Sync repository of library tracks and cached recognizer answers."""

    # -- tracks -----------------------------------------------------------------
    def by_sha256(self, sha256: str) -> TrackInfo | None:
        with self.session() as s:
            row = s.scalar(select(LibraryTrack).where(LibraryTrack.sha256 == sha256))
            return TrackInfo.of(row) if row else None

    def by_path(self, path: str) -> list[TrackInfo]:
        with self.session() as s:
            rows = s.scalars(select(LibraryTrack).where(LibraryTrack.path == path))
            return [TrackInfo.of(r) for r in rows]

    def add(
        self,
        path: str,
        sha256: str,
        artist: str | None,
        title: str | None,
        duration_s: float,
        hashes: int,
        in_library: bool = True,
    ) -> int:
        with self.session() as s:
            row = LibraryTrack(
                path=path,
                sha256=sha256,
                artist=artist,
                title=title,
                duration_s=duration_s,
                hashes=hashes,
                in_library=in_library,
            )
            s.add(row)
            s.flush()
            return row.id

    def set_hashes(self, track_id: int, hashes: int) -> None:
        with self.session() as s:
            row = s.get(LibraryTrack, track_id)
            if row is not None:
                row.hashes = hashes

    def remove(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        with self.session() as s:
            result = s.execute(delete(LibraryTrack).where(LibraryTrack.id.in_(ids)))
            # A DELETE gives a CursorResult, which has the count.
            return int(getattr(result, "rowcount", 0) or 0)

    def all(self) -> list[TrackInfo]:
        """The operator's library (crate-only tracks are left out)."""
        with self.session() as s:
            query = select(LibraryTrack).where(LibraryTrack.in_library.is_(True))
            return [TrackInfo.of(r) for r in s.scalars(query.order_by(LibraryTrack.id))]

    def get_many(self, ids: Iterable[int]) -> dict[int, TrackInfo]:
        ids = sorted(set(int(i) for i in ids))
        out: dict[int, TrackInfo] = {}
        with self.session() as s:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for row in s.scalars(select(LibraryTrack).where(LibraryTrack.id.in_(chunk))):
                    out[row.id] = TrackInfo.of(row)
        return out

    def live_ids(self, crate: str | None = None) -> list[int]:
        """Fingerprinted tracks of the operator's library, plus those of ``crate``."""
        from storage.crates import CrateTrack

        visible: ColumnElement[bool] = LibraryTrack.in_library.is_(True)
        if crate is not None:
            in_crate = select(CrateTrack.track_id).where(CrateTrack.crate == crate)
            visible = or_(visible, LibraryTrack.id.in_(in_crate))
        with self.session() as s:
            query = select(LibraryTrack.id).where(LibraryTrack.hashes > 0, visible)
            return list(s.scalars(query))

    def indexed_ids(self) -> list[int]:
        """Every fingerprinted track, crates' included: what the index must keep."""
        with self.session() as s:
            return list(s.scalars(select(LibraryTrack.id).where(LibraryTrack.hashes > 0)))

    def is_in_library(self, track_id: int) -> bool:
        with self.session() as s:
            row = s.get(LibraryTrack, track_id)
            return bool(row is not None and row.in_library)

    def held_by_crates(self, ids: Iterable[int]) -> set[int]:
        from storage.crates import CrateTrack

        wanted = {int(i) for i in ids}
        if not wanted:
            return set()
        with self.session() as s:
            query = select(CrateTrack.track_id).where(CrateTrack.track_id.in_(wanted))
            return set(s.scalars(query))

    def set_in_library(self, track_id: int, value: bool) -> None:
        with self.session() as s:
            row = s.get(LibraryTrack, track_id)
            if row is not None:
                row.in_library = value

    # -- recognizer cache ----------------------------------------------------------
    def cache_get(self, service: str, window_hash: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(RecognizerCache, (service, window_hash))
            return dict(row.answer) if row else None

    def cache_put(self, service: str, window_hash: str, answer: dict[str, Any]) -> None:
        with self.session() as s:
            row = s.get(RecognizerCache, (service, window_hash))
            if row is None:
                s.add(RecognizerCache(service=service, window_hash=window_hash, answer=answer))
            else:
                row.answer = answer
                row.created_at = utcnow()
