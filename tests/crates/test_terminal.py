"""Crates through `cratebot chat`: add a folder, list, identify against it, sections, next,
remove; duplicates and limits refused clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from core.demo.mix import render_mix
from core.demo.songs import DEMO_TRACKS, write_crate

ROOT = Path(__file__).resolve().parents[2]


def chat(home: Path, *commands: str, **env: str) -> tuple[int, list[dict], str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")} | {
        "CRATEBOT_HOME": str(home),
        "CRATEBOT_IDENTIFY_RECOGNIZERS": "local",
        **env,
    }
    args = [x for command in commands for x in ("-c", command)]
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "chat", "--json", "--out", str(home / "out"), *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    replies = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, replies, out.stderr


def text_of(reply: dict) -> str:
    return json.dumps(reply, ensure_ascii=False)


@pytest.fixture(scope="module")
def crate_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crate")
    write_crate(folder / "tracks", DEMO_TRACKS[:4])
    mix, _ = render_mix(
        sorted((folder / "tracks").glob("*.flac"))[:3],
        [1.04, 0.96, 1.0],
        excerpt_s=30.0,
        fade_s=6.0,
    )
    sf.write(folder / "mix.wav", mix, 44100)
    return folder


@pytest.mark.slow
def test_crate_add_then_id_on_an_empty_home(crate_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, replies, err = chat(home, f"/crate add {crate_dir / 'tracks'}")
    assert code == 0, err
    added = text_of(replies[-1])
    for track in DEMO_TRACKS[:4]:
        assert track.title in added
    code, replies, err = chat(home, f"/id {crate_dir / 'mix.wav'}", "/crate list", "/crate stats")
    assert code == 0, err
    by_command = {r["command"].split()[0] + r["command"].split()[1][:5]: r for r in replies}
    text = "\n".join(text_of(r) for r in replies)
    id_reply = by_command["/id" + f"{crate_dir / 'mix.wav'}"[:5]]
    identified = id_reply["data"]["tracks"]
    # The reply carries the job's result page (served by `cratebot serve`).
    (page,) = [link["url"] for link in id_reply["links"] if link["label"] == "Result page"]
    assert f"/p/{id_reply['job_id']}?exp=" in page
    found = [t for t in identified if t.get("title")]
    assert len(found) >= 3, text
    assert {t["matched_in"] for t in found} == {"crate"}
    assert "(crate)" in text
    assert "4 of 500 tracks" in text

    # The operator's library stays empty; `cratebot id` outside chat does not see crates.
    lib = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "library", "list", "--home", str(home)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert "0 track(s)" in lib.stdout

    # Same content again: not added twice.
    code, replies, _ = chat(home, f"/crate add {sorted((crate_dir / 'tracks').glob('*'))[0]}")
    assert "already in this crate" in text_of(replies[-1])

    code, replies, _ = chat(home, "/next 1", "/sections crate bpm=122 delta=5 bars=4")
    text = "\n".join(text_of(r) for r in replies)
    assert "Next tracks" in text and "tempo" in text
    assert "section(s)" in text or "Sections" in text

    code, replies, _ = chat(home, "/crate remove 1", "/crate list")
    text = "\n".join(text_of(r) for r in replies)
    assert "removed 1." in text and "Crate (3 tracks)" in text


@pytest.mark.slow
def test_crate_limits_are_clear(crate_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, replies, _ = chat(
        home, f"/crate add {crate_dir / 'tracks'}", CRATEBOT_CRATE_MAX_TRACKS="2"
    )
    text = text_of(replies[-1])
    assert "the crate is full (2 tracks at most)" in text
    assert "holds 2 track(s)" in text


def test_empty_crate_answers(tmp_path: Path) -> None:
    code, replies, _ = chat(tmp_path / "home", "/crate list", "/next 1", "/sections crate bpm=120")
    text = "\n".join(text_of(r) for r in replies)
    assert "the crate is empty" in text
    assert code == 1  # the failed commands count
