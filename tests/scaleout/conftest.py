"""A scale-out cluster for tests: real Redis and PostgreSQL on loopback, real workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cluster:
    home: Path
    env: dict[str, str]
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(
        self, queues: str = "sleepy,child,flaky,hashing", concurrency: int = 1, cli: bool = False
    ) -> subprocess.Popen[bytes]:
        """A worker in its own session (so the test can kill its whole process group)."""
        if cli:
            args = ["-m", "bot.cli.main", "worker", "--queues", queues]
            args += ["--concurrency", str(concurrency), "--home", str(self.home)]
        else:
            args = ["-m", "tests.scaleout.worker_process", queues, str(concurrency)]
        log = (self.logs / f"worker-{len(self.workers)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.workers.append(proc)
        return proc

    def kill9(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.workers:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, too
            if proc.poll() is None:
                proc.wait(10)

    def log_text(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture
def cluster_env(home: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch, request) -> None:
    """CRATEBOT_BROKER_URL and a fresh PostgreSQL CRATEBOT_DATABASE_URL; fast heartbeats."""
    monkeypatch.setenv("CRATEBOT_BROKER_URL", redis_url)
    monkeypatch.setenv("CRATEBOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("CRATEBOT_WORKER_HEARTBEAT_S", "0.5")
    monkeypatch.setenv("CRATEBOT_WORKER_DEAD_AFTER_S", "4")


@pytest.fixture
def cluster(cluster_env, home: Path, tmp_path: Path) -> Iterator[Cluster]:
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    found = Cluster(home, env, logs)
    yield found
    found.stop_all()


@pytest.fixture
def settings(cluster_env, home):
    from core.settings import load_settings

    s = load_settings(home=home)
    s.ensure_dirs()
    return s
