"""A structure JSON beside a track (``cratebot analyze --struct-out``) sets the deck's tempo."""

from __future__ import annotations

import json

import pytest

from realtime.track import load_track

from .signals import SR, click_track, write


def test_structure_json_beside_the_track_is_preferred(tmp_path):
    write(tmp_path, "loop.wav", click_track(128.0, 8.0)[:, 0])
    # The full analyser heard the half-time feel the clicks cannot show: its tempo wins.
    (tmp_path / "loop.json").write_text(json.dumps({"path": "loop.wav", "bpm": 64.0}))
    track = load_track(str(tmp_path), "loop.wav", SR)
    assert track.bpm_source == "structure" and track.bpm == 64.0
    # A tempo given with /load still overrides everything.
    given = load_track(str(tmp_path), "loop.wav", SR, bpm=100.0)
    assert given.bpm_source == "given" and given.bpm == 100.0


@pytest.mark.parametrize(
    "content", ["not json", json.dumps({"bpm": None}), json.dumps({"bpm": 900}), "[1, 2]"]
)
def test_unusable_structure_json_falls_back_to_analysis(tmp_path, content):
    write(tmp_path, "loop.wav", click_track(128.0, 8.0)[:, 0])
    (tmp_path / "loop.json").write_text(content)
    track = load_track(str(tmp_path), "loop.wav", SR)
    assert track.bpm_source == "analysed"
    assert track.bpm == pytest.approx(128.0, rel=0.002)
