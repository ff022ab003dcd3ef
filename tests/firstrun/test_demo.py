"""`cratebot demo` works offline on an empty home and finds the tracks it mixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_offline_on_an_empty_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")}
    env |= {"HOME": str(tmp_path), "CRATEBOT_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "demo", "--tracks", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    demo = tmp_path / ".cratebot" / "demo"
    truth = json.loads((demo / "truth.json").read_text())
    assert len(truth) == 3
    # Every mixed track is named in the printed tracklist (artist and title from file names).
    tracklist = out.stdout.split("[5/6]")[1].split("[6/6]")[0]
    for row in truth:
        artist, title = Path(row["file"]).stem.split("--")
        assert f"{artist.replace('_', ' ')} — {title.replace('_', ' ')}" in tracklist
    assert (demo / "identify" / "mix.cue").is_file()
    assert (demo / "identify" / "timeline.png").is_file()
    assert (demo / "sections" / "sections.csv").is_file()
    assert "Traceback" not in out.stderr
