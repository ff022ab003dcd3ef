"""Real Redis and PostgreSQL servers on loopback for the scale-out tests.

``.ci/run`` starts both once and exports ``CRATEBOT_TEST_REDIS_URL`` and
``CRATEBOT_TEST_POSTGRES_URL``; without them the fixtures start their own servers on
free ports with throwaway data folders (when the binaries exist) and stop them after.
Each test gets its own PostgreSQL database and Redis database number, so tests never
see each other's rows or queues.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REDIS_ENV = "CRATEBOT_TEST_REDIS_URL"
POSTGRES_ENV = "CRATEBOT_TEST_POSTGRES_URL"  # postgresql+asyncpg://USER@HOST:PORT (no database)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Redis:
    url: str  # redis://127.0.0.1:PORT
    proc: subprocess.Popen[bytes] | None = None
    folder: Path | None = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_redis(port: int | None = None) -> Redis:
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="cratebot-redis-"))
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", str(folder), "--databases", "1024"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)
    return Redis(f"redis://127.0.0.1:{port}", proc, folder)


@dataclass
class Postgres:
    url: str  # postgresql+asyncpg://USER@127.0.0.1:PORT
    folder: Path | None = None
    bindir: Path | None = None
    user: str | None = None

    def _as_user(self, args: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root: run its tools as the data folder's owner.
        if os.geteuid() == 0 and self.user:
            return ["runuser", "-u", self.user, "--", *args]
        return args

    def stop(self) -> None:
        if self.folder is None or self.bindir is None:
            return
        data = self.folder / "data"
        subprocess.run(
            self._as_user(
                [str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self) -> str:
        """A fresh, empty database; returns its async URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.sync_url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with (
            contextlib.suppress(Exception),
            psycopg.connect(self.sync_url("postgres"), autocommit=True) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sync_url(self, database: str) -> str:
        return self.url.replace("postgresql+asyncpg://", "postgresql://") + f"/{database}"


def _postgres_user() -> str | None:
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("postgres").pw_name
    return "nobody"


def start_postgres(port: int | None = None) -> Postgres:
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="cratebot-pg-"))
    user = _postgres_user()
    server = Postgres(f"postgresql+asyncpg://cratebot@127.0.0.1:{port}", folder, bindir, user)
    if user is not None:
        shutil.chown(folder, user)
    data = folder / "data"
    try:
        subprocess.run(
            server._as_user(
                [str(bindir / "initdb"), "-D", str(data), "-U", "cratebot", "--auth=trust"]
                + ["--no-sync", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            server._as_user(
                [str(bindir / "pg_ctl"), "-D", str(data), "-o", options]
                + ["-l", str(folder / "log"), "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )
        _wait_port(port)
    except Exception:
        server.stop()
        raise
    return server


def servers_from_env() -> tuple[Redis | None, Postgres | None]:
    redis_url = os.environ.get(REDIS_ENV)
    pg_url = os.environ.get(POSTGRES_ENV)
    return (Redis(redis_url) if redis_url else None, Postgres(pg_url) if pg_url else None)


@contextlib.contextmanager
def running_servers() -> Iterator[tuple[Redis, Postgres]]:
    """Both servers for a benchmark or a manual run: from the environment or started here."""
    redis, pg = servers_from_env()
    started: list[Redis | Postgres] = []
    try:
        if redis is None:
            redis = start_redis()
            started.append(redis)
        if pg is None:
            pg = start_postgres()
            started.append(pg)
        yield redis, pg
    finally:
        for server in reversed(started):
            server.stop()
