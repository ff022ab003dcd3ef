"""Result files under ``$CRATEBOT_HOME/results/<job id>/``: atomic publishing and retention."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from storage.base import utcnow
from storage.db import Database
from storage.files import atomic_move, inside, sha256_file
from storage.models import Job, PublishedFile


@dataclass(frozen=True)
class SweepReport:
    files_removed: int
    bytes_freed: int
    folders_removed: int


class ResultStore:
    def __init__(self, db: Database, results_dir: Path, retention_days: float) -> None:
        self.db = db
        self.root = results_dir
        self.retention = dt.timedelta(days=retention_days)

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def path_of(self, job_id: str, name: str) -> Path:
        """The published file, refusing any name that would leave the job's folder."""
        return inside(self.folder(job_id), name)

    async def publish(self, job_id: str, workdir: Path, names: list[str]) -> list[PublishedFile]:
        work = workdir.resolve()
        published: list[PublishedFile] = []
        expires = utcnow() + self.retention
        for name in names:
            src = inside(work, name)
            if not src.is_file():
                raise ValueError(f"job output {name!r} is not a file inside the work folder")
            rel = src.relative_to(work).as_posix()
            dest = self.path_of(job_id, rel)
            atomic_move(src, dest)
            published.append(
                PublishedFile(
                    job_id=job_id,
                    name=rel,
                    size_bytes=dest.stat().st_size,
                    sha256=sha256_file(dest),
                    expires_at=expires,
                )
            )
        async with self.db.session() as s:
            s.add_all(published)
        return published

    async def sweep(self, now: dt.datetime | None = None) -> SweepReport:
        """Delete expired result files and folders of jobs that no longer exist."""
        now = now or utcnow()
        removed = freed = folders = 0
        async with self.db.session() as s:
            expired = (
                await s.scalars(
                    select(PublishedFile).where(
                        PublishedFile.expires_at < now, PublishedFile.deleted_at.is_(None)
                    )
                )
            ).all()
            for row in expired:
                try:
                    path = self.path_of(row.job_id, row.name)
                except ValueError:
                    path = None
                if path is not None and path.exists():
                    freed += path.stat().st_size
                    path.unlink()
                    removed += 1
                row.deleted_at = now
            known = set((await s.scalars(select(Job.id))).all())
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if not folder.is_dir():
                    continue
                live = any(p.is_file() for p in folder.rglob("*"))
                if folder.name not in known or not live:
                    shutil.rmtree(folder, ignore_errors=True)
                    folders += 1
        return SweepReport(removed, freed, folders)
