"""Settings sources, SQLite configuration, migrations and the jobs CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from core.settings import load_settings
from storage.db import open_database

ROOT = Path(__file__).resolve().parents[2]


def test_defaults(home):
    s = load_settings()
    assert s.home == home.resolve()
    assert s.database_url == f"sqlite+aiosqlite:///{home.resolve() / 'cratebot.db'}"
    assert s.max_duration_s == 21600
    assert s.result_retention_days == 7
    assert s.allow_private_urls is False
    assert s.results_dir == home.resolve() / "results"


def test_environment_toml_and_explicit_precedence(home, tmp_path, monkeypatch):
    config = tmp_path / "cratebot.toml"
    config.write_text('max_duration_s = 600\nresult_retention_days = 2\naudd_token = "abc"\n')
    monkeypatch.setenv("CRATEBOT_CONFIG", str(config))
    monkeypatch.setenv("CRATEBOT_RESULT_RETENTION_DAYS", "3")
    monkeypatch.setenv("CRATEBOT_ALLOW_PRIVATE_URLS", "1")
    s = load_settings()
    assert s.max_duration_s == 600  # from TOML
    assert s.result_retention_days == 3  # env beats TOML
    assert s.allow_private_urls is True
    assert s.audd_token.get_secret_value() == "abc"
    assert "abc" not in repr(s)  # secrets are never echoed
    other = tmp_path / "elsewhere"
    assert load_settings(home=other).home == other.resolve()  # --home beats everything


def test_public_url_follows_the_web_server_unless_set(home):
    assert load_settings(http_port=9000).public_url == "http://127.0.0.1:9000"
    assert load_settings(http_host="0.0.0.0").public_url == "http://127.0.0.1:8080"
    assert load_settings(http_host="bot.example").public_url == "http://bot.example:8080"
    assert load_settings(public_url="https://dl.example").public_url == "https://dl.example"


def test_invalid_setting_is_reported(home, monkeypatch):
    monkeypatch.setenv("CRATEBOT_MAX_DURATION_S", "-5")
    with pytest.raises(ValueError, match="max_duration_s"):
        load_settings()


async def test_sqlite_pragmas_and_migrations(settings, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas only apply to SQLite")
    db = await open_database(settings.database_url)
    try:
        async with db.session() as s:
            assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await s.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
            tables = set(
                (
                    await s.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
                ).scalars()
            )
        assert {"jobs", "job_events", "results", "owners", "alembic_version"} <= tables
        await db.migrate()  # idempotent
    finally:
        await db.dispose()


async def test_concurrent_writers_do_not_deadlock(settings):
    """Read-then-write transactions from two engines (as two processes) all commit."""
    from storage.jobs_repo import JobRepository

    a = await open_database(settings.database_url)
    b = await open_database(settings.database_url)
    try:

        async def writer(db, n):
            repo = JobRepository(db)
            for i in range(15):
                await repo.owner_id("test", f"user-{n}-{i}")
                await repo.create(f"j{n}-{i}", "probe", {"i": i}, None, None, 3)

        await asyncio.gather(writer(a, 1), writer(b, 2), writer(a, 3), writer(b, 4))
        assert len(await JobRepository(a).list(limit=100)) == 60
    finally:
        await a.dispose()
        await b.dispose()


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args, "--home", str(home)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_jobs_cli_list_show_cancel_sweep(tmp_path):
    home = tmp_path / "h"

    async def seed():
        s = load_settings(home=home)
        s.ensure_dirs()
        db = await open_database(s.database_url)
        from storage.jobs_repo import JobRepository

        await JobRepository(db).create("abc123", "identify", {"source": "x.mp3"}, None, "k", 3)
        await db.dispose()

    asyncio.run(seed())
    out = _cli(home, "jobs", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["id"] for r in rows] == ["abc123"] and rows[0]["state"] == "queued"
    out = _cli(home, "jobs", "show", "abc123")
    assert "identify" in out.stdout and "submitted" in out.stdout
    out = _cli(home, "jobs", "cancel", "abc123")
    assert out.returncode == 0 and "cancelled" in out.stdout
    out = _cli(home, "jobs", "show", "abc123", "--json")
    assert json.loads(out.stdout)["state"] == "cancelled"
    out = _cli(home, "jobs", "show", "nope")
    assert out.returncode == 1 and "no job nope" in out.stderr
    out = _cli(home, "jobs", "sweep")
    assert out.returncode == 0 and "removed 0 files" in out.stdout


def test_heads_read_from_files_match_alembic():
    from alembic.script import ScriptDirectory

    from storage.db import _alembic_config, heads_on_disk

    assert heads_on_disk() == frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def test_sync_engine_migrates_a_fresh_database_and_skips_a_current_one(tmp_path):
    from sqlalchemy import inspect

    from storage.db import _schema_is_current, create_sync_engine, migrated_sync_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert not _schema_is_current(create_sync_engine(url))
    engine = migrated_sync_engine(url)
    assert {"jobs", "results"} <= set(inspect(engine).get_table_names())
    assert _schema_is_current(engine)
