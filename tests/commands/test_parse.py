"""Typed commands become the same structured commands on every front-end."""

from __future__ import annotations

import pytest

from bot.commands.api import Command
from bot.commands.parse import parse
from bot.commands.specs import SPECS, help_text
from core.errors import BadInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "/id https://example.com/mix?a=b",
            Command("id", {"source": "https://example.com/mix?a=b"}),
        ),
        ("/id@CrateBot", Command("id", {})),
        (
            "identify mix.mp3 local,shazam",
            Command("id", {"source": "mix.mp3", "recognizers": "local,shazam"}),
        ),
        (
            "/stems 'my song.mp3' htdemucs_ft vocals wav",
            Command(
                "stems",
                {
                    "source": "my song.mp3",
                    "model": "htdemucs_ft",
                    "minus": "vocals",
                    "format": "wav",
                },
            ),
        ),
        ("/stems FLAC minus=drums", Command("stems", {"format": "flac", "minus": "drums"})),
        (
            "/sections a.mp3 https://x.org/b 124 key=Am,Cm harmonic bars=8",
            Command(
                "sections",
                {
                    "sources": ["a.mp3", "https://x.org/b"],
                    "bpm": "124",
                    "key": "Am,Cm",
                    "harmonic": True,
                    "bars": "8",
                },
            ),
        ),
        ("/bpm 124", Command("bpm", {"value": "124"})),
        ("/bpm 126.5 8s", Command("bpm", {"value": "126.5", "ramp": "8s"})),
        ("/bpm auto on", Command("bpm_auto", {"on": "on"})),
        (
            "/pi link 10.0.0.2 57120 s3cret",
            Command("pi_link", {"host": "10.0.0.2", "port": "57120", "token": "s3cret"}),
        ),
        ("/pi unlink", Command("pi_unlink", {})),
        ("/PI STATUS", Command("pi_status", {})),
        ("/jobs", Command("jobs", {})),
        ("/cancel abc123", Command("cancel", {"job_id": "abc123"})),
        ("/help bpm auto", Command("help", {"topic": "bpm auto"})),
    ],
)
def test_parse(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty command"),
        ("/dance", "unknown command /dance"),
        ("/pi reboot", "usage: /pi link"),
        ("/bpm 124 8 9", "unexpected '9'"),
        ("/stems x.mp3 wav flac", "format given twice"),
        ("/stems x.mp3 colour=red", "unknown option 'colour' for /stems"),
        ("/sections a.mp3 fast", "cannot tell what 'fast' is"),
        ("/id 'unbalanced", "cannot read that command"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse(text)


def test_help_covers_every_command() -> None:
    text = help_text()
    for spec in SPECS:
        assert spec.usage in text
    assert "/bpm auto on|off" in help_text("bpm auto")
    assert "admins" in help_text("pi link")
    assert "no command" in help_text("nope")
