"""``bpm_confidence`` and ``bpm_alternatives``: JSON round trip and the CLI's text line."""

from __future__ import annotations

import json

from bot.cli.analysis_cmd import _describe
from core.analysis.model import TrackAnalysis


def analysis(bpm: float, alternatives: list[float]) -> TrackAnalysis:
    return TrackAnalysis(
        path="/music/roller.wav",
        duration=200.0,
        bpm=bpm,
        beats=[0.5, 1.19],
        downbeats=[0.5],
        beat_positions=[1, 2],
        segments=[],
        key="Fm",
        camelot="4A",
        bpm_confidence=0.31,
        bpm_alternatives=alternatives,
    )


def test_alternatives_and_confidence_travel_through_the_structure_json() -> None:
    struct = analysis(87.0, [174.0]).to_struct()
    assert struct["bpm_alternatives"] == [174.0] and struct["bpm_confidence"] == 0.31
    # Still the all-in-one layout: its fields are all there, the new ones only added.
    for name in ("path", "bpm", "beats", "downbeats", "beat_positions", "segments"):
        assert name in struct
    back = TrackAnalysis.from_struct(json.loads(json.dumps(struct)))
    assert back.bpm_alternatives == [174.0] and back.bpm_confidence == 0.31
    # allin1's own files have neither field.
    plain = {k: v for k, v in struct.items() if not k.startswith("bpm_")}
    other = TrackAnalysis.from_struct(plain)
    assert other.bpm_alternatives == [] and other.bpm_confidence is None


def test_text_line_names_the_alternative_tempo() -> None:
    line = _describe(analysis(87.0, [174.0]).to_struct())
    assert "roller.wav: 87.00 BPM (or 174), Fm (4A)" in line
    assert "(or " not in _describe(analysis(124.0, []).to_struct())
    assert "90.00 BPM (or 180 or 135)" in _describe(analysis(90.0, [180.0, 135.0]).to_struct())
