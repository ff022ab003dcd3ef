"""Read-only lookups of library tracks for identification, light on memory.

``cratebot id`` needs only the live track ids (before matching) and the artist/title
of the few tracks found (after it). Through ``storage.library`` that costs the process
SQLAlchemy and its ORM, ~18 MB of RSS held through the matcher's memory peak. On the
embedded SQLite database this module reads with the standard ``sqlite3`` driver instead
(~1 MB); elsewhere (PostgreSQL) it uses a SQLAlchemy Core connection, without the ORM.
The SQL is the same portable text for both: named ``:parameters`` are understood by
``sqlite3`` and by SQLAlchemy's ``text()``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from storage.schema_heads import heads_on_disk

_CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit
_BUSY_TIMEOUT_S = 30.0  # as storage.db's BUSY_TIMEOUT_MS


class TrackLabel(NamedTuple):
    artist: str | None
    title: str | None
    in_library: bool


class LibraryReader:
    """Live track ids and labels, read without the ORM."""

    def __init__(self, database_url: str) -> None:
        self._sqlite: sqlite3.Connection | None = _open_sqlite(database_url)
        self._url = database_url

    def _rows(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        if self._sqlite is not None:
            return self._sqlite.execute(sql, dict(params)).fetchall()
        from sqlalchemy import text

        from storage.db import migrated_sync_engine

        with migrated_sync_engine(self._url).connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), dict(params))]

    def live_ids(self, crate: str | None = None) -> list[int]:
        """Fingerprinted tracks of the operator's library, plus those of ``crate``."""
        sql = "SELECT id FROM library_tracks WHERE hashes > 0 AND (in_library = :yes"
        params: dict[str, Any] = {"yes": True}
        if crate is not None:
            sql += " OR id IN (SELECT track_id FROM crate_tracks WHERE crate = :crate)"
            params["crate"] = crate
        return [int(r[0]) for r in self._rows(sql + ") ORDER BY id", params)]

    def labels(self, ids: Iterable[int]) -> dict[int, TrackLabel]:
        """Artist, title and library membership of those of ``ids`` that still exist."""
        wanted = sorted({int(i) for i in ids})
        out: dict[int, TrackLabel] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            names = ", ".join(f":i{n}" for n in range(len(chunk)))
            sql = f"SELECT id, artist, title, in_library FROM library_tracks WHERE id IN ({names})"
            for row in self._rows(sql, {f"i{n}": v for n, v in enumerate(chunk)}):
                out[int(row[0])] = TrackLabel(row[1], row[2], bool(row[3]))
        return out

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


def _sqlite_path(database_url: str) -> Path | None:
    """The file of a plain ``sqlite[+driver]:///PATH`` URL; None for anything else.

    Parsed by hand because SQLAlchemy's URL parser is what this module avoids importing;
    any URL it is unsure of (query options, in-memory, other backends) goes the
    SQLAlchemy way.
    """
    scheme, sep, rest = database_url.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite" or not rest or "?" in rest:
        return None
    if rest == ":memory:" or rest.startswith("file:"):
        return None
    return Path(rest)


def _open_sqlite(database_url: str) -> sqlite3.Connection | None:
    """A read connection when the database is an existing, migrated SQLite file.

    A missing file or an older schema is left to SQLAlchemy, which creates or migrates it.
    """
    path = _sqlite_path(database_url)
    if path is None or not path.is_file():
        return None
    conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S)
    try:
        found = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:
        found = set()
    if frozenset(found) != heads_on_disk():
        conn.close()
        return None
    return conn
