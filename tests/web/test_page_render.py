"""A result page's HTML without a browser: doubtful matches flagged with their alternatives,
text escaped, and download links signed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.commands.links import verify
from bot.web.pages.render import render_page
from core.settings import load_settings


@dataclass
class _Job:
    id: str = "job123"
    kind: str = "identify"
    state: str = "succeeded"
    progress: float = 1.0
    progress_text: str = ""
    error: str | None = None
    created_at: dt.datetime = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class _File:
    name: str
    size_bytes: int


def test_doubtful_match_shows_its_alternatives(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    job = _Job(
        result={
            "duration_s": 120.0,
            "tracks": [
                {"start": 0.0, "end": 60.0, "artist": "A", "title": "<Sure>", "confidence": 0.9,
                 "recognizer": "local", "speed": 1.04},
                {"start": 60.0, "end": 120.0, "artist": "B", "title": "Maybe", "confidence": 0.2,
                 "recognizer": "shazam", "speed": None,
                 "alternatives": [{"artist": "C", "title": "Other", "confidence": 0.15}]},
            ],
        }
    )  # fmt: skip
    html = render_page(settings, b"k" * 32, job, [_File("tracklist.json", 10)], "exp=1&sig=x")
    assert "&lt;Sure&gt;" in html and "<Sure>" not in html
    assert "+4.0%" in html
    assert html.count('class="flag"') == 1 and "1 doubtful" in html
    assert "C — Other (0.15)" in html
    link = html.split('href="/dl/job123/tracklist.json?')[1].split('"')[0]
    query = dict(part.split("=") for part in link.replace("&amp;", "&").split("&"))
    verify(b"k" * 32, "job123", "tracklist.json", query["exp"], query["sig"])
    assert "/p/job123/tracklist.csv?exp=1&amp;sig=x" in html
