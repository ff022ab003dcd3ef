"""Merging plays into a tracklist, and the text/CUE/PNG outputs."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from core.identify.outputs import format_text, render_png, write_cue
from core.identify.tracklist import Play, build_tracklist, uncovered


def _p(start, end, title, conf=0.9, rec="local", artist="A", speed=1.0):
    return Play(start, end, artist, title, conf, {rec}, speed)


def test_gaps_become_unknown_and_short_gaps_close() -> None:
    plays = [_p(0, 60, "One"), _p(65, 120, "Two"), _p(200, 260, "Three")]
    out = build_tracklist(plays, 300.0)
    assert [(e["start"], e["end"], e["title"]) for e in out] == [
        (0, 65, "One"),
        (65, 120, "Two"),
        (120, 200, None),
        (200, 260, "Three"),
        (260, 300, None),
    ]
    assert out[2]["artist"] is None and out[2]["confidence"] == 0.0


def test_overlapping_windows_of_one_play_merge_but_a_replay_stays() -> None:
    plays = [_p(0, 50, "One"), _p(40, 90, "One"), _p(300, 350, "One")]
    out = [e for e in build_tracklist(plays, 360.0) if e["title"]]
    assert [(e["start"], e["title"]) for e in out] == [(0, "One"), (300, "One")]


def test_online_answer_confirming_local_and_conflicts() -> None:
    plays = [
        _p(0, 100, "One", 0.9),
        _p(30, 60, "one", 0.6, "shazam"),
        _p(10, 90, "Other", 0.5, "audd"),
    ]
    out = build_tracklist(plays, 100.0)
    assert len(out) == 1
    assert out[0]["recognizer"] == "local+shazam" and out[0]["confidence"] == 1.0


def test_uncovered() -> None:
    plays = [_p(30, 100, "x"), _p(90, 150, "y")]
    assert uncovered(plays, 300, 20) == [(0, 30), (150, 300)]


def test_text_cue_png(tmp_path: Path) -> None:
    result = {
        "source": "m.mp3",
        "duration_s": 4000.0,
        "tracks": build_tracklist(
            [_p(0, 100, "Intro", speed=1.04), _p(3700, 4000, 'Late "One"', artist="Zé")], 4000.0
        ),
    }
    text = format_text(result)
    assert text.splitlines() == [
        "00:00 A — Intro  [+4.0%]",
        "01:40 unknown",
        '61:40 Zé — Late "One"',
    ]
    cue = tmp_path / "t.cue"
    write_cue(result, cue, "m.mp3")
    body = cue.read_text()
    assert 'FILE "m.mp3" MP3' in body and "INDEX 01 61:40:00" in body
    assert "TITLE \"Late 'One'\"" in body
    png = tmp_path / "t.png"
    render_png(result, png)
    with Image.open(png) as img:
        assert img.width == 1000 and img.height < 200
    assert png.stat().st_size < 60_000


def test_a_losing_candidate_is_kept_as_an_alternative() -> None:
    from core.identify.tracklist import Play, build_tracklist

    local = Play(0.0, 60.0, "A", "Sure", 0.9, {"local"}, 1.0)
    guess = Play(5.0, 55.0, "B", "Guess", 0.3, {"shazam"}, None)
    echo = Play(0.0, 60.0, "C", "Echo", 0.2, {"local"}, 1.0)
    local.alternatives = [
        {"artist": "C", "title": "Echo", "confidence": 0.2, "recognizer": "local"}
    ]
    entries = build_tracklist([local, guess], 60.0)
    assert [e["title"] for e in entries] == ["Sure"]
    alternatives = entries[0]["alternatives"]
    assert [a["title"] for a in alternatives] == ["Guess", "Echo"]  # by confidence
    assert alternatives[0]["recognizer"] == "shazam"
    assert echo.identity not in {local.identity}
    # An entry nothing competed with carries no alternatives key at all.
    plain = build_tracklist([Play(0.0, 60.0, "A", "Sure", 0.9, {"local"}, 1.0)], 60.0)
    assert "alternatives" not in plain[0]
