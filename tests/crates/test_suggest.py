"""/next's ranking: Camelot relations, tempo windows, half/double time, keylock."""

from __future__ import annotations

import pytest

from core.analysis.keys import parse_key
from core.crates.suggest import Candidate, relation, suggest
from core.errors import BadInput


@pytest.mark.parametrize(
    ("a", "b", "score"),
    [
        ("8A", "8A", 1.0),  # same key
        ("8A", "9A", 0.9),  # one step
        ("8A", "7A", 0.9),
        ("8A", "8B", 0.8),  # relative major
        ("8A", "10A", 0.6),  # energy boost
        ("8A", "2A", 0.0),  # tritone away
        ("8A", "9B", 0.0),
    ],
)
def test_camelot_relations(a: str, b: str, score: float) -> None:
    assert relation(parse_key(a), parse_key(b))[0] == score


def c(number: int, bpm: float, key: str | None) -> Candidate:
    return Candidate(f"track {number}", number, bpm, key, None)


def test_ranks_by_key_then_tempo_and_says_what_to_apply() -> None:
    now = c(1, 124.0, "Am")
    found = suggest(
        now,
        [
            now,
            c(2, 126.0, "Am"),
            c(3, 124.0, "Em"),
            c(4, 124.0, "F#m"),
            c(5, 140.0, "Am"),
            c(6, 62.5, "Am"),
        ],
    )
    numbers = [s.candidate.number for s in found]
    assert numbers[0] == 6  # same key; 62.5 BPM plays as 125 (double time), -0.8 %
    assert set(numbers) == {6, 2, 3}  # Em is one step from Am
    assert 4 not in numbers and 5 not in numbers  # clashing key; 13 % off
    two = next(s for s in found if s.candidate.number == 2)
    assert two.tempo_change_pct == pytest.approx((124 / 126 - 1) * 100)
    assert two.keylock and "2." in two.describe() and "-1.6%" in two.describe()


def test_vinyl_shift_can_make_a_key_fit() -> None:
    # Bm played 6 % slower without keylock sounds about a semitone lower: Bbm... and
    # Am played ~6 % faster sounds as Bbm. Here Am (8A) after A#m/Bbm (3A): no fit with
    # keylock, but the vinyl shift lands on the same key.
    now = c(1, 120.0, "Bbm")
    found = suggest(now, [c(2, 113.3, "Am")], window_pct=8.0)
    assert len(found) == 1 and not found[0].keylock
    assert found[0].pitch_semitones == pytest.approx(1.0, abs=0.05)
    assert "keylock off (+1.0 st)" in found[0].describe()


def test_unanalysed_track_is_refused() -> None:
    with pytest.raises(BadInput, match="no tempo"):
        suggest(c(1, 0.0, None), [c(2, 120.0, "Am")])
