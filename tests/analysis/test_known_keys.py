"""Keys of real recordings that are known from outside the analyser."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.analysis.analyze import analyze_track
from core.analysis.keys import parse_key

pytestmark = [pytest.mark.slow, pytest.mark.shared]

# US Army Strings, Hungarian Dance No. 5 (public domain, ../shared/audio). Its published file
# name says "Allegro in F sharp minor", the key of Brahms's piano duet; string orchestras play
# Parlow's orchestration in G minor, and this recording does (tuned to A440: its loudest
# pitch classes are D, G and Bb, with F# as the leading tone).
KNOWN_KEYS = {"US_Army_Strings--Hungarian_Dance_No_5.ogg": "G minor"}


@pytest.mark.parametrize(("name", "key"), sorted(KNOWN_KEYS.items()))
def test_known_key_of_real_recording(shared_audio: Path, name: str, key: str) -> None:
    analysis = analyze_track(shared_audio / name)
    assert analysis.key is not None
    assert parse_key(analysis.key) == parse_key(key)
    assert abs(analysis.tuning_cents or 0.0) < 20
