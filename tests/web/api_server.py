"""A real ``cratebot serve`` process on a free loopback port, and tokens for it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")}
    if "CRATEBOT_FFMPEG" in os.environ:
        env["CRATEBOT_FFMPEG"] = os.environ["CRATEBOT_FFMPEG"]
    env.update(CRATEBOT_HOME=str(home), PYTHONPATH=str(ROOT), **extra)
    return env


def cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        env=clean_env(home, **extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def new_token(home: Path, owner: str, name: str = "") -> str:
    out = cli(home, "tokens", "create", "--owner", owner, *(["--name", name] if name else []))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@dataclass
class Served:
    home: Path
    proc: subprocess.Popen[str]
    base: str
    log: list[str] = field(default_factory=list)

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_serve(home: Path, **extra: str) -> Served:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "serve", "--port", "0"],
        env=clean_env(home, CRATEBOT_SECRET="api-test-secret", **extra),
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    port = None
    deadline = time.monotonic() + 60
    while port is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if match := LISTENING.search(line):
            port = int(match.group(1))
    if port is None:
        proc.kill()
        proc.wait(timeout=5)
        raise AssertionError("cratebot serve did not start:\n" + "".join(seen))
    served = Served(home, proc, f"http://127.0.0.1:{port}", seen)

    def drain() -> None:  # keep reading stderr so the server never blocks on a full pipe
        assert proc.stderr is not None
        for line in proc.stderr:
            served.log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return served
