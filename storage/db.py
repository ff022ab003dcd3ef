"""Engine, sessions and automatic migrations.

SQLite (the embedded default) gets WAL, a busy timeout, foreign keys and
``BEGIN IMMEDIATE`` for every transaction: a transaction that reads and then
writes can otherwise fail with SQLITE_BUSY at the upgrade, which no busy timeout
can wait out (the classic SQLite "deadlock"). Nothing here is SQLite-only SQL,
so a PostgreSQL URL works with the same models and migrations.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.schema_heads import MIGRATIONS_DIR, heads_on_disk

if TYPE_CHECKING:
    # Imported where used: the async layer costs ~6 MB of RSS that the sync-only
    # processes (`cratebot id`, job workers) never need.
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

BUSY_TIMEOUT_MS = 30_000


def install_sqlite_pragmas(sync_engine: Engine) -> None:
    """WAL, busy timeout, foreign keys and BEGIN IMMEDIATE on every connection of an engine."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def sync_url(url: str) -> str:
    """The synchronous-driver twin of an async database URL (for worker processes)."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver.startswith("sqlite"):
        parsed = parsed.set(drivername="sqlite")
    elif driver in {"postgresql+asyncpg", "postgresql+psycopg_async"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _engine_options(url: str) -> tuple[bool, dict[str, Any]]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False, {"pool_pre_ping": True}
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return True, {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}}


def create_sync_engine(url: str) -> Engine:
    """A plain (sync) engine on the same database, configured like the async one."""
    surl = sync_url(url)
    is_sqlite, options = _engine_options(surl)
    engine = create_engine(surl, **options)
    if is_sqlite:
        install_sqlite_pragmas(engine)
    return engine


def _schema_is_current(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
            return frozenset(found) == heads_on_disk()
    except Exception:  # no version table yet, or no database: migrate
        return False


@functools.cache
def migrated_sync_engine(url: str) -> Engine:
    """One migrated sync engine per process and URL (job workers, CLI commands)."""
    engine = create_sync_engine(url)
    if not _schema_is_current(engine):
        with engine.begin() as conn:
            upgrade(conn)
    return engine


class SyncStore:
    """Base of the synchronous repositories (job workers, CLI commands): the process's
    engine for the URL, and one transaction per ``session()``."""

    def __init__(self, database_url: str, migrate: bool = True) -> None:
        self.engine = (
            migrated_sync_engine(database_url) if migrate else create_sync_engine(database_url)
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session


class Database:
    """One engine and session factory per process; created from ``Settings.database_url``."""

    def __init__(self, url: str, echo: bool = False) -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        self.url = url
        self.is_sqlite, options = _engine_options(url)
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **options)
        if self.is_sqlite:
            install_sqlite_pragmas(self.engine.sync_engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success."""
        async with self.sessions() as session, session.begin():
            yield session

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (every branch head)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection) -> None:
    """Apply every migration head on ``connection`` (Alembic branches are allowed)."""
    from alembic import command

    command.upgrade(_alembic_config(connection), "heads")


async def open_database(url: str) -> Database:
    """Create the engine and apply migrations: what every entry point calls at start."""
    db = Database(url)
    await db.migrate()
    return db
