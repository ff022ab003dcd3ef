"""`cratebot doctor` and `cratebot --version`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.loopback_http import serve_folder

ROOT = Path(__file__).resolve().parents[2]
GOOD_TELEGRAM = "123456789:" + "A" * 35


def cratebot(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")} | {
        "CRATEBOT_HOME": str(home),
        "CRATEBOT_IDENTIFY_RECOGNIZERS": "local",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_version_matches_the_project() -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"cratebot {expected}"


def test_doctor_on_a_fresh_home(tmp_path: Path) -> None:
    out = cratebot("doctor", "--json", home=tmp_path)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert out.returncode == 0, out.stdout
    assert rows["ffmpeg"]["level"] == "OK"
    assert rows["database"]["level"] == "OK"
    assert rows["free disk"]["level"] in {"OK", "WARN"}
    assert rows["Demucs weights"]["level"] == "WARN"
    assert "cratebot models fetch" in rows["Demucs weights"]["fix"]
    assert rows["Telegram"]["level"] == "OK"  # not configured is fine


def test_doctor_checks_tokens_and_reachability(tmp_path: Path) -> None:
    with serve_folder(tmp_path) as base:
        ok = cratebot(
            "doctor",
            "--json",
            home=tmp_path / "h1",
            CRATEBOT_TELEGRAM_TOKEN=GOOD_TELEGRAM,
            CRATEBOT_TELEGRAM_BASE_URL=f"{base}/bot",
        )
    rows = {r["name"]: r for r in json.loads(ok.stdout)}
    assert rows["Telegram"]["level"] == "OK", rows["Telegram"]

    bad = cratebot("doctor", home=tmp_path / "h2", CRATEBOT_TELEGRAM_TOKEN="oops")
    assert bad.returncode == 1
    assert "FAIL  Telegram" in bad.stdout
    assert "fix: copy the token BotFather gave you" in bad.stdout

    down = cratebot(
        "doctor",
        "--json",
        home=tmp_path / "h3",
        CRATEBOT_BROKER_URL="redis://127.0.0.1:9/0",
        CRATEBOT_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/none",
    )
    rows = {r["name"]: r for r in json.loads(down.stdout)}
    assert down.returncode == 1
    assert rows["broker"]["level"] == "FAIL"
    assert rows["database"]["level"] == "FAIL"
    assert "Traceback" not in down.stderr
