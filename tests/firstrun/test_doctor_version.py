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


def test_timeline_labels_end_in_an_ellipsis_and_keep_the_speed(tmp_path: Path) -> None:
    from core.identify.outputs import fit_text, render_png

    def measure(text: str) -> float:
        return 7.0 * len(text)

    cut = fit_text("00:00 Artist — A very long title that cannot fit", "  +6.0%", measure, 200)
    assert cut.endswith("…  +6.0%")
    assert measure(cut) <= 200
    assert fit_text("short", "", measure, 200) == "short"
    result = {
        "duration_s": 120.0,
        "tracks": [
            {"start": 0.0, "end": 60.0, "artist": "A" * 40, "title": "T" * 80, "speed": 1.06},
            {"start": 60.0, "end": 120.0, "artist": None, "title": None, "speed": None},
        ],
    }
    render_png(result, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 500


def test_example_config_documents_every_setting() -> None:
    from core.settings_example import render_example

    committed = (ROOT / "cratebot.example.toml").read_text()
    assert committed == render_example(), (
        "cratebot.example.toml is stale: python3 -m core.settings_example > cratebot.example.toml"
    )
    # And it is a valid config file once the defaults are uncommented.
    body = "\n".join(
        line[2:] for line in committed.splitlines() if line.startswith("# ") and " = " in line
    )
    parsed = tomllib.loads(body)
    from core.settings import Settings

    assert set(parsed) == set(Settings.model_fields)
