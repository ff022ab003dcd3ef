"""``cratebot analyze`` and ``cratebot sections`` as a user runs them (subprocesses)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.analysis.synth import make_track

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def cratebot(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRATEBOT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_analyze_then_sections_from_library(home: Path, tmp_path: Path) -> None:
    track = make_track(tmp_path / "groove.wav", bpm=122.0, bars=24, intro_bars=8, outro_bars=4)
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio at all\n" * 20)
    short = tmp_path / "short.wav"
    soundfile.write(str(short), np.full((22050, 2), 0.1, np.float32), 22050)

    done = cratebot(home, "analyze", str(track), str(notes), str(short), "--json")
    assert done.returncode == 2  # two of the three inputs were refused...
    assert "cratebot: notes.txt:" in done.stderr
    assert "short.wav: 1.0 s is too short to analyse" in done.stderr
    (struct,) = json.loads(done.stdout)  # ...and stdout is still one clean JSON list
    for field in (
        "path",
        "bpm",
        "beats",
        "downbeats",
        "beat_positions",
        "segments",
        "key",
        "camelot",
        "bpm_confidence",
        "bpm_alternatives",
    ):
        assert field in struct
    assert struct["bpm"] == pytest.approx(122.0, rel=0.005)
    assert {s["label"] for s in struct["segments"]} >= {"intro", "outro"}

    out = tmp_path / "out"
    csv_out = tmp_path / "elsewhere" / "selected.csv"
    done = cratebot(
        home,
        "sections",
        "--library",
        "--bpm",
        "122.5",
        "--delta",
        "2",
        "--key",
        "8A",
        "--target-bpm",
        "124",
        "--bars",
        "8",
        "--out",
        str(out),
        "--csv-out",
        str(csv_out),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["count"] == 1
    with csv_out.open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert Path(row["part_file"]).is_absolute() and Path(row["part_file"]).is_file()
    frames = soundfile.info(row["part_file"]).frames
    assert abs(frames - float(row["duration_orig"]) * 44100 / float(row["speed"])) <= 0.5
    assert (out / "sections.zip").is_file()

    refused = cratebot(home, "sections", str(track), "--bpm", "90", "--out", str(tmp_path / "x"))
    assert refused.returncode == 2
    assert "no track gave a section" in refused.stderr and "outside 88-92" in refused.stderr
    assert refused.stdout == ""
