"""Runs real ``cratebot-pi`` servers (offline render, UDP on loopback) for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from realtime.client import PiClient

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"
READY = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


@dataclass
class PiServer:
    proc: subprocess.Popen[str]
    port: int
    out_wav: Path
    token: str
    banner: list[str] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.out_wav.with_suffix(".log")

    def client(self, timeout: float = 5.0) -> PiClient:
        return PiClient("127.0.0.1", self.port, self.token, timeout=timeout)

    async def wait_engine_time(self, seconds: float, wall_limit: float = 30.0) -> dict:
        """Poll /status until the engine has rendered ``seconds``; bounded in wall time."""
        client = self.client()
        deadline = time.monotonic() + wall_limit
        while True:
            state = await client.status()
            if state["engine_time_s"] >= seconds:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"engine stuck at {state['engine_time_s']} s")
            await asyncio.sleep(0.05)

    def close(self) -> None:
        """Teardown: a clean stop if it still runs (that ends its loader pool too), then
        whatever is left of its session, so no process outlives the test."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def stop(self, sig: int = signal.SIGINT) -> tuple[np.ndarray, int]:
        """Signal the server, wait for it (bounded) and return the rendered audio."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("server did not exit within 20 s of the signal") from None
        assert self.proc.returncode == 0, self.log_path.read_text()
        data, sr = sf.read(str(self.out_wav), dtype="float32", always_2d=True)
        return data, sr


def start_server(
    music_dir: Path, out_wav: Path, *extra: str, token: str = TOKEN, speed: float = 10.0
) -> PiServer:
    cmd = [
        sys.executable, "-m", "realtime.cli",
        "--host", "127.0.0.1", "--port", "0",
        "--music-dir", str(music_dir),
        "--offline-render", str(out_wav), "--offline-speed", str(speed),
        *extra,
    ]  # fmt: skip
    if token:
        cmd += ["--token", token]
    env = {k: v for k, v in os.environ.items() if k != "CRATEBOT_PI_TOKEN"}
    # stderr goes to a file: a pipe nobody reads would block a chatty server.
    log_path = out_wav.with_suffix(".log")
    with log_path.open("w") as log:
        # Its own session: teardown can end the server with its loader processes.
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
    banner: list[str] = []
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        banner.append(line.strip())
        match = READY.search(line)
        if match:
            return PiServer(proc, int(match.group(1)), out_wav, token, banner)
    proc.kill()
    proc.wait(timeout=5)
    raise AssertionError(f"server did not start: {banner} {log_path.read_text()}")


@pytest.fixture
def music_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    return folder


@pytest.fixture
def pi_factory(tmp_path: Path) -> Iterator:
    servers: list[PiServer] = []

    def make(music: Path, *extra: str, **kw) -> PiServer:
        server = start_server(music, tmp_path / f"out{len(servers)}.wav", *extra, **kw)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
async def pi(pi_factory, music_dir: Path) -> AsyncIterator[PiServer]:
    yield pi_factory(music_dir)
