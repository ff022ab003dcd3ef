"""``cratebot index`` / ``library`` / ``id`` through the real command line on real music."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks.identify_mixgen import load_sources, make_mix, score, write_mp3

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRATEBOT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_index_and_identify_generated_mix(shared_audio: Path, home: Path, tmp_path: Path) -> None:
    sources = [s for s in load_sources(shared_audio) if 50 <= s.duration_s <= 150]
    library, held_out = sources[:5], sources[5]
    run = cli(
        home,
        "index",
        *[str(s.file) for s in library],
        "--metadata",
        str(shared_audio / "tracks.json"),
    )
    assert run.returncode == 0, run.stderr
    assert "5 added" in run.stdout
    again = cli(home, "index", str(library[0].file))
    assert again.returncode == 0 and "0 added, 1 already indexed" in again.stdout
    listing = json.loads(cli(home, "library", "list", "--json").stdout)
    assert {t["title"] for t in listing} == {s.title for s in library}

    mix, placed = make_mix(library, 4.0, seed=11, excerpt_s=(40.0, 50.0), unknown=[held_out])
    mix_path = tmp_path / "mix.mp3"
    write_mp3(mix, mix_path)
    truth = [asdict(p) for p in placed]

    run = cli(
        home,
        "id",
        str(mix_path),
        "--json",
        "--recognizers",
        "local",
        "--cue",
        str(tmp_path / "mix.cue"),
        "--png",
        str(tmp_path / "mix.png"),
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)  # exactly one JSON object on stdout
    assert set(result) == {"source", "duration_s", "tracks"}
    assert result["duration_s"] == pytest.approx(len(mix) / 44100, abs=0.5)
    for entry in result["tracks"]:
        assert set(entry) == {
            "start",
            "end",
            "artist",
            "title",
            "confidence",
            "recognizer",
            "speed",
        }
        assert 0.0 <= entry["confidence"] <= 1.0
    s = score(truth, result)
    assert s["recall"] == 1.0 and s["precision"] == 1.0, (truth, result)
    assert s["median_start_error_s"] <= 5.0
    unknown = [t for t in truth if not t["known"]]
    assert unknown and any(r["title"] is None for r in result["tracks"])
    assert (tmp_path / "mix.cue").read_text().count("TRACK ") == len(result["tracks"])
    assert (tmp_path / "mix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    human = cli(home, "id", str(mix_path), "--recognizers", "local")
    first = result["tracks"][0]
    assert human.stdout.splitlines()[0].startswith(f"00:00 {first['artist']} — {first['title']}")

    # removing a track makes its stretch unknown
    victim = next(t for t in listing if t["title"] == result["tracks"][0]["title"])
    assert cli(home, "library", "remove", str(victim["id"])).returncode == 0
    after = json.loads(cli(home, "id", str(mix_path), "--json", "--recognizers", "local").stdout)
    assert victim["title"] not in {r["title"] for r in after["tracks"]}


def test_cli_errors_are_one_clear_line(home: Path, tmp_path: Path) -> None:
    run = cli(home, "id", str(tmp_path / "missing.mp3"), "--recognizers", "local")
    assert run.returncode == 2 and run.stderr.strip() == "cratebot: missing.mp3: no such file"
    run = cli(home, "id", str(tmp_path / "missing.mp3"), "--recognizers", "napster")
    assert run.returncode == 2 and "unknown recognizer 'napster'" in run.stderr
    run = cli(home, "index", str(tmp_path / "nothing-here"))
    assert run.returncode == 2 and "no such file or folder" in run.stderr
