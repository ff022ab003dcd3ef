"""``cratebot chat`` driven through stdin in a subprocess, as a user or a script would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.identify.synth import SR, write_songs
from tests.realtime.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def chat(
    args: list[str], stdin: str, home: Path, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")}
    env.update(CRATEBOT_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def pi(offline_pi):
    return offline_pi


@pytest.mark.slow
def test_script_through_stdin(home: Path, tmp_path: Path, pi) -> None:
    from core.identify.library import index_paths
    from core.settings import load_settings

    songs = write_songs(tmp_path / "songs", 2, seconds=25.0)
    index_paths(load_settings(home=home), songs[:1])
    mix = tmp_path / "my mix.flac"
    sf.write(mix, np.concatenate([sf.read(p, dtype="float32")[0] for p in songs]), SR)
    work = tmp_path / "cwd"
    work.mkdir()
    script = (
        "\n".join(
            [
                "# a comment, then a blank line",
                "",
                "/help",
                f"/pi link 127.0.0.1 {pi.port} {TOKEN}",
                "/bpm 124 2",
                f"/id '{mix}' recognizers=local",
                "/jobs",
            ]
        )
        + "\n"
    )
    done = chat(["--json"], script, home, work)
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    by_command = {
        r["command"].split()[0]
        + (" " + r["command"].split()[1] if r["command"].startswith("/pi") else ""): r
        for r in replies
    }
    assert set(by_command) == {"/help", "/pi link", "/bpm", "/id", "/jobs"}
    assert not any(r["error"] for r in replies), replies
    assert "acknowledged" in by_command["/bpm"]["text"]
    assert TOKEN not in done.stdout.replace(f"/pi link 127.0.0.1 {pi.port} {TOKEN}", "")
    assert TOKEN not in done.stderr

    identified = by_command["/id"]
    job_id = identified["job_id"]
    folder = work / "cratebot-results" / job_id
    assert identified["folder"] == str(folder)
    assert sorted(identified["files"]) == ["timeline.png", "tracklist.cue", "tracklist.json"]
    tracklist = json.loads((folder / "tracklist.json").read_text())
    assert [t["title"] for t in tracklist["tracks"]] == ["Song 0", None]
    assert "Song 0" in identified["text"] and "unknown" in identified["text"]
    # Lines take effect in order: /jobs already sees the job /id queued.
    assert job_id in by_command["/jobs"]["text"]
    assert f"[{job_id}] identify" in done.stderr  # progress, as plain lines off a terminal

    state = asyncio.run(pi.client().status())
    assert state["target_bpm"] == pytest.approx(124.0)


def test_errors_and_exit_status(home: Path, tmp_path: Path) -> None:
    song = tmp_path / "tone.wav"
    sf.write(song, np.zeros(SR, dtype=np.float32), SR)
    done = chat(
        ["-c", "/bpm fast", "-c", "/frobnicate", "--out", str(tmp_path / "out")], "", home, tmp_path
    )
    assert done.returncode == 1
    assert "error: BPM must be a number, not 'fast'" in done.stdout
    assert "error: unknown command /frobnicate; try /help" in done.stdout
    assert "no Pi is linked" not in done.stdout  # refused before looking for a Pi

    # "quit" ends the session; what follows is not run.
    done = chat([], "/jobs\nquit\n/bpm 124\n", home, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "you have no jobs yet" in done.stdout and "/bpm" not in done.stdout
