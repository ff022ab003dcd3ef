"""Chat tracklists show what `cratebot id` shows: the speed each track was played at."""

from __future__ import annotations

from typing import Any

from bot.commands.render import render_identify


class _View:
    id = "job1"
    kind = "identify"


def _result() -> dict[str, Any]:
    return {
        "duration_s": 200.0,
        "tracks": [
            {"start": 0.0, "end": 90.0, "artist": "A", "title": "One", "speed": 1.06},
            {"start": 90.0, "end": 150.0, "artist": "B", "title": "Two", "speed": 1.001},
            {"start": 150.0, "end": 200.0, "artist": None, "title": None, "speed": None},
        ],
    }


def test_speeds_in_chat_text_and_rows() -> None:
    reply = render_identify(_View(), _result(), {})  # type: ignore[arg-type]
    lines = reply.text.splitlines()
    assert lines[0] == "00:00  A — One  [+6.0%]"
    assert lines[1] == "01:30  B — Two"  # within 0.5 %: played at its own speed
    assert lines[2] == "02:30  unknown"
    assert [t.speed_text for t in reply.tracks] == ["+6.0%", "", ""]
