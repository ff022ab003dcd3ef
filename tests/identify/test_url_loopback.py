"""``cratebot id http://...``: a mix served on loopback is fetched through yt-dlp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback_http import serve_folder

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_identify_url_served_on_loopback(library_home: Path, synth_mix) -> None:
    mix, truth = synth_mix
    with serve_folder(mix.parent) as base:
        url = f"{base}/{mix.name}"
        env = {**os.environ, "CRATEBOT_HOME": str(library_home)}
        refused = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "id", url, "--recognizers", "local"],
            cwd=ROOT,
            env={**env, "CRATEBOT_ALLOW_PRIVATE_URLS": "0"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode == 2 and "private" in refused.stderr
        run = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "id", url, "--json", "--recognizers", "local"],
            cwd=ROOT,
            env={**env, "CRATEBOT_ALLOW_PRIVATE_URLS": "1"},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["source"] == url
    titles = [r["title"] for r in result["tracks"] if r["title"]]
    assert titles == [t["title"] for t in truth if t["known"]]
    # the download went to a temporary work folder that is gone again
    assert not any((library_home / "work").iterdir())
