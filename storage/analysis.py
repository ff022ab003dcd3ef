"""Stored track analyses: one row per analysed file, keyed by its absolute path.

The row keeps the file's content sha256 so a changed file is re-analysed, and the
scalar fields DJs filter on (BPM, key, Camelot) as columns; beats, downbeats and
segments sit in one JSON document (the all-in-one structure). The table stands on
its own, independent of the identify library's tables.

Job functions run in worker processes with synchronous code, so besides the async
helpers for the bot there is :class:`AnalysisStore`, a small synchronous store on
a plain engine with the same SQLite pragmas as ``storage.db``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow
from storage.db import SyncStore

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class TrackAnalysisRow(Base):
    __tablename__ = "track_analyses"
    __table_args__ = (
        Index("uq_track_analyses_path", "path", unique=True),
        Index("ix_track_analyses_sha256", "sha256"),
        Index("ix_track_analyses_bpm", "bpm"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(2048))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    bpm: Mapped[float | None] = mapped_column(Float)
    key: Mapped[str | None] = mapped_column(String(8))
    camelot: Mapped[str | None] = mapped_column(String(3))
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    analyzer: Mapped[str] = mapped_column(String(64))
    structure: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def _fill(row: TrackAnalysisRow, structure: dict[str, Any], size_bytes: int) -> None:
    row.sha256 = str(structure["sha256"])
    row.size_bytes = size_bytes
    row.duration_s = float(structure.get("duration") or 0.0)
    row.bpm = structure.get("bpm")
    row.key = structure.get("key")
    row.camelot = structure.get("camelot")
    row.loudness_lufs = structure.get("loudness_lufs")
    row.analyzer = str(structure.get("analyzer") or "")
    row.structure = structure
    row.updated_at = utcnow()


def _check(structure: dict[str, Any]) -> tuple[str, int]:
    path = structure.get("path")
    if not isinstance(path, str) or not Path(path).is_absolute():
        raise ValueError("an analysis is stored under its file's absolute path")
    if not structure.get("sha256"):
        raise ValueError("an analysis is stored with its file's sha256")
    file = Path(path)
    return path, file.stat().st_size if file.exists() else 0


# -- async helpers (bot, server) ---------------------------------------------------


async def save_analysis(session: AsyncSession, structure: dict[str, Any]) -> TrackAnalysisRow:
    """Insert or replace the analysis of ``structure['path']`` (an all-in-one dict)."""
    path, size = _check(structure)
    row = (
        await session.execute(select(TrackAnalysisRow).where(TrackAnalysisRow.path == path))
    ).scalar_one_or_none()
    if row is None:
        row = TrackAnalysisRow(path=path)
        session.add(row)
    _fill(row, structure, size)
    await session.flush()
    return row


async def get_analysis(
    session: AsyncSession, path: str | Path, sha256: str | None = None
) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(TrackAnalysisRow).where(
                TrackAnalysisRow.path == str(Path(path).expanduser().resolve())
            )
        )
    ).scalar_one_or_none()
    if row is None or (sha256 is not None and row.sha256 != sha256):
        return None
    return dict(row.structure)


async def list_analyses(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(select(TrackAnalysisRow).order_by(TrackAnalysisRow.path))
    ).scalars()
    return [dict(r.structure) for r in rows]


# -- synchronous store (worker processes, CLI) ---------------------------------------


class AnalysisStore(SyncStore):
    """Synchronous access to stored analyses (all-in-one dicts)."""

    def save(self, structure: dict[str, Any]) -> None:
        path, size = _check(structure)
        with self.session() as session:
            row = session.execute(
                select(TrackAnalysisRow).where(TrackAnalysisRow.path == path)
            ).scalar_one_or_none()
            if row is None:
                row = TrackAnalysisRow(path=path)
                session.add(row)
            _fill(row, structure, size)

    def get(self, path: str | Path, sha256: str | None = None) -> dict[str, Any] | None:
        """The stored analysis of ``path``; None if absent or made from other content."""
        key = str(Path(path).expanduser().resolve())
        with self.session() as session:
            row = session.execute(
                select(TrackAnalysisRow).where(TrackAnalysisRow.path == key)
            ).scalar_one_or_none()
            if row is None or (sha256 is not None and row.sha256 != sha256):
                return None
            return dict(row.structure)

    def all(self, paths: Sequence[str] | None = None) -> list[dict[str, Any]]:
        with self.session() as session:
            query = select(TrackAnalysisRow).order_by(TrackAnalysisRow.path)
            if paths is not None:
                query = query.where(TrackAnalysisRow.path.in_(list(paths)))
            return [dict(r.structure) for r in session.execute(query).scalars()]

    def delete(self, path: str | Path) -> bool:
        key = str(Path(path).expanduser().resolve())
        with self.session() as session:
            row = session.execute(
                select(TrackAnalysisRow).where(TrackAnalysisRow.path == key)
            ).scalar_one_or_none()
            if row is None:
                return False
            session.delete(row)
            return True

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> AnalysisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
