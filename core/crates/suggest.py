"""``/next``: which crate tracks mix well after a given one, and how to play them.

A DJ can pull a deck's tempo by a few per cent (pitch faders run ±8 %); with keylock
the key stays, without it the key moves with the speed (+1 semitone per ~5.9 %).
Each candidate is ranked on Camelot compatibility (as played) and on how far the
tempo must move, half/double time included (a 170 BPM track fits a 85 BPM one).
Compatibility follows the usual harmonic-mixing wheel: the same key, one step round
the wheel, the relative major/minor, or two steps (an "energy boost").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.analysis.keys import Key, parse_key
from core.errors import BadInput

# How good a transition is by Camelot relation (number difference, letter change).
_RELATION = {
    (0, False): (1.0, "same key"),
    (1, False): (0.9, "one step on the wheel"),
    (0, True): (0.8, "relative major/minor"),
    (2, False): (0.6, "energy boost (+2)"),
}


@dataclass(frozen=True)
class Candidate:
    label: str
    number: int  # the crate entry's number
    bpm: float
    key: str | None
    camelot: str | None


@dataclass(frozen=True)
class Suggestion:
    candidate: Candidate
    score: float
    tempo_change_pct: float  # apply to the candidate's deck to match the current tempo
    played_bpm: float
    keylock: bool  # True: keep keylock on for the key relation below
    relation: str
    pitch_semitones: float  # key shift when played without keylock

    def describe(self) -> str:
        c = self.candidate
        mode = "keylock on" if self.keylock else f"keylock off ({self.pitch_semitones:+.1f} st)"
        key = f"{c.key} {c.camelot}" if c.key else "key ?"
        return (
            f"{c.number}. {c.label} · {c.bpm:.1f} BPM {key} · tempo {self.tempo_change_pct:+.1f}% "
            f"({mode}) · {self.relation}"
        )


def relation(a: Key, b: Key) -> tuple[float, str]:
    """How well ``b`` follows ``a`` on the Camelot wheel: (0..1, description)."""
    diff = (b.camelot_number - a.camelot_number) % 12
    steps = min(diff, 12 - diff)
    letter_change = a.minor != b.minor
    if letter_change and steps != 0:
        return 0.0, "keys clash"
    if (steps, letter_change) == (2, False) and diff != 2:
        return 0.3, "two steps down the wheel"
    return _RELATION.get((steps, letter_change), (0.0, "keys clash"))


def _effective_tempo(current: float, bpm: float) -> float:
    """``bpm`` or its double/half, whichever is nearest ``current``."""
    options = [bpm, bpm * 2, bpm / 2]
    return min(options, key=lambda t: abs(math.log(current / t)))


def suggest(
    current: Candidate, others: list[Candidate], window_pct: float = 8.0, limit: int = 5
) -> list[Suggestion]:
    if not current.bpm:
        raise BadInput(f"{current.label} has no tempo yet (not analysed)")
    current_key = parse_key(current.key) if current.key else None
    found: list[Suggestion] = []
    for cand in others:
        if cand.number == current.number or not cand.bpm:
            continue
        tempo = _effective_tempo(current.bpm, cand.bpm)
        speed = current.bpm / tempo
        change = (speed - 1.0) * 100
        if abs(change) > window_pct:
            continue
        tempo_fit = 1.0 - abs(change) / window_pct
        if current_key is None or not cand.key:
            found.append(
                Suggestion(cand, 0.4 * tempo_fit, change, current.bpm, True, "key unknown", 0.0)
            )
            continue
        key = parse_key(cand.key)
        semitones = 12 * math.log2(speed)
        locked_score, locked_rel = relation(current_key, key)
        vinyl_key = key.transposed(round(semitones))
        vinyl_score, vinyl_rel = relation(current_key, vinyl_key)
        # Without keylock the key only moves by whole semitones once the shift is large
        # enough to hear; below half a semitone it is the same key, slightly detuned.
        if abs(semitones) < 0.5:
            vinyl_score, vinyl_rel = locked_score, locked_rel
        keylock = locked_score >= vinyl_score
        score, rel = (locked_score, locked_rel) if keylock else (vinyl_score, vinyl_rel)
        if score <= 0.0:
            continue
        found.append(
            Suggestion(
                cand, 0.6 * score + 0.4 * tempo_fit, change, current.bpm, keylock, rel, semitones
            )
        )
    found.sort(key=lambda s: (-s.score, abs(s.tempo_change_pct)))
    return found[:limit]
