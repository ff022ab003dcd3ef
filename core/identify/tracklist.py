"""Merge plays from every recognizer into one tracklist in mix order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# A stretch longer than this with no identified track becomes an "unknown" entry.
UNKNOWN_MIN_S = 20.0
# Two plays of the same track closer than this are one play (a dropout, not a replay).
SAME_PLAY_GAP_S = 15.0


@dataclass
class Play:
    start: float
    end: float
    artist: str | None
    title: str | None
    confidence: float
    recognizers: set[str] = field(default_factory=set)
    speed: float | None = None
    # Candidates that lost to this play for the same stretch: {artist, title, confidence}.
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identity(self) -> str:
        return f"{norm(self.artist)}|{norm(self.title)}"

    @property
    def length(self) -> float:
        return max(self.end - self.start, 1e-6)


def norm(text: str | None) -> str:
    """Loose identity of a name: case, punctuation and 'feat.' parts do not count."""
    text = (text or "").lower()
    text = re.sub(r"\s*[\(\[](feat|ft|with)\.?[^\)\]]*[\)\]]", "", text)
    return re.sub(r"[^0-9a-z\u00c0-\uffff]+", "", text)


def _merge_same(plays: list[Play]) -> list[Play]:
    plays = sorted(plays, key=lambda p: p.start)
    out: list[Play] = []
    for play in plays:
        match = None
        for prev in reversed(out[-4:]):
            if prev.identity == play.identity and play.start - prev.end <= SAME_PLAY_GAP_S:
                match = prev
                break
        if match is None:
            out.append(
                Play(
                    play.start,
                    play.end,
                    play.artist,
                    play.title,
                    play.confidence,
                    set(play.recognizers),
                    play.speed,
                    list(play.alternatives),
                )
            )
            continue
        match.end = max(match.end, play.end)
        match.start = min(match.start, play.start)
        if match.speed is None:
            match.speed = play.speed
        agree = match.recognizers != play.recognizers
        match.recognizers |= play.recognizers
        match.alternatives.extend(play.alternatives)
        match.confidence = max(match.confidence, play.confidence)
        if agree:  # two independent recognizers naming the same track
            match.confidence = min(1.0, match.confidence + 0.1)
    return out


def _candidate(play: Play) -> dict[str, Any]:
    recognizer = "+".join(sorted(play.recognizers)) or None
    return {
        "artist": play.artist,
        "title": play.title,
        "confidence": round(float(play.confidence), 3),
        "recognizer": recognizer,
    }


def _drop_conflicts(plays: list[Play]) -> list[Play]:
    """Where two different tracks claim mostly the same stretch, keep the surer one.

    Two plays the local matcher found are both kept: it already dropped plays
    shadowed by stronger ones, so two that overlap are a double drop or a
    long blend, where both tracks really play.
    """
    kept: list[Play] = []
    for play in sorted(plays, key=lambda p: (-p.confidence, -p.length)):
        winner = next(
            (
                k
                for k in kept
                if min(play.end, k.end) - max(play.start, k.start) > 0.6 * play.length
                and not ("local" in play.recognizers and "local" in k.recognizers)
            ),
            None,
        )
        clash = winner is not None
        if winner is not None and play.identity != winner.identity:
            winner.alternatives.append(_candidate(play))
        if not clash:
            kept.append(play)
    return sorted(kept, key=lambda p: p.start)


def build_tracklist(
    plays: list[Play], duration_s: float, unknown_min_s: float = UNKNOWN_MIN_S
) -> list[dict[str, Any]]:
    """Entries in mix order; ends meet the next start; long silences of knowledge are unknown."""
    plays = _drop_conflicts(_merge_same(plays))
    entries: list[dict[str, Any]] = []
    cursor = 0.0
    for i, play in enumerate(plays):
        start = max(play.start, 0.0)
        if start - cursor >= unknown_min_s:
            entries.append(_unknown(cursor, start))
        elif entries and entries[-1]["title"] is not None:
            entries[-1]["end"] = round(start, 1)  # short gap: the previous track ran on
        next_start = plays[i + 1].start if i + 1 < len(plays) else duration_s
        end = min(max(play.end, start), max(next_start, start))
        entries.append(
            {
                "start": round(start, 1),
                "end": round(end, 1),
                "artist": play.artist,
                "title": play.title,
                "confidence": round(float(play.confidence), 3),
                "recognizer": "+".join(sorted(play.recognizers)) or None,
                "speed": round(play.speed, 4) if play.speed is not None else None,
            }
        )
        if play.alternatives:
            seen = {play.identity}
            unique = []
            for alt in sorted(play.alternatives, key=lambda a: -float(a.get("confidence") or 0)):
                key = Play(0, 0, alt.get("artist"), alt.get("title"), 0).identity
                if key not in seen:
                    seen.add(key)
                    unique.append(alt)
            if unique:
                entries[-1]["alternatives"] = unique[:5]
        cursor = end
    if duration_s - cursor >= unknown_min_s:
        entries.append(_unknown(cursor, duration_s))
    elif entries and entries[-1]["title"] is not None:
        entries[-1]["end"] = round(duration_s, 1)
    return entries


def _unknown(start: float, end: float) -> dict[str, Any]:
    return {
        "start": round(start, 1),
        "end": round(end, 1),
        "artist": None,
        "title": None,
        "confidence": 0.0,
        "recognizer": None,
        "speed": None,
    }


def uncovered(plays: list[Play], duration_s: float, min_s: float) -> list[tuple[float, float]]:
    """Stretches of the mix at least ``min_s`` long that no play covers."""
    spans = sorted((max(p.start, 0.0), min(p.end, duration_s)) for p in plays)
    gaps = []
    cursor = 0.0
    for start, end in spans:
        if start - cursor >= min_s:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if duration_s - cursor >= min_s:
        gaps.append((cursor, duration_s))
    return gaps
