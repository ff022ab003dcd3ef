"""Fixtures shared by every test package."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_AUDIO = (ROOT.parent / "shared" / "audio").resolve()


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    """``../shared/audio``; tests that use it are skipped on a plain clone without it."""
    if not (SHARED_AUDIO / "tracks.json").is_file():
        pytest.skip("../shared/audio is not present")
    return SHARED_AUDIO


@pytest.fixture(scope="session")
def shared_tracks(shared_audio: Path) -> list[dict]:
    return json.loads((shared_audio / "tracks.json").read_text())


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh CRATEBOT_HOME; CRATEBOT_* variables from the caller's shell are cleared."""
    for key in list(os.environ):
        if key.startswith("CRATEBOT_") and key != "CRATEBOT_FFMPEG":
            monkeypatch.delenv(key)
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("CRATEBOT_HOME", str(folder))
    yield folder


@pytest.fixture
def settings(home: Path):
    from core.settings import load_settings

    s = load_settings(home=home)
    s.ensure_dirs()
    return s


@pytest.fixture
async def db(settings):
    """The async database of the test's settings (each test directory may override those)."""
    from storage.db import open_database

    database = await open_database(settings.database_url)
    yield database
    await database.dispose()


@pytest.fixture
def offline_pi(tmp_path: Path):
    """A real ``cratebot-pi --offline-render`` on a free loopback UDP port (token: TOKEN)."""
    from tests.realtime.conftest import start_server

    music = tmp_path / "pi-music"
    music.mkdir()
    server = start_server(music, tmp_path / "pi.wav")
    yield server
    server.close()


# -- real Redis and PostgreSQL on loopback (tests/servers.py) -------------------------
@pytest.fixture(scope="session")
def redis_server():
    from tests import servers

    found, _ = servers.servers_from_env()
    if found is not None:
        yield found
        return
    if servers.redis_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    server = servers.start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    from tests import servers

    _, found = servers.servers_from_env()
    if found is not None:
        yield found
        return
    if servers.postgres_bindir() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    server = servers.start_postgres()
    yield server
    server.stop()


_REDIS_DB = iter(range(1, 1024))


@pytest.fixture
def redis_url(redis_server) -> str:
    """A Redis database number of its own, flushed first (queues left by a failed test)."""
    import redis

    url = f"{redis_server.url}/{next(_REDIS_DB)}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A fresh PostgreSQL database (postgresql+asyncpg://...), dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
