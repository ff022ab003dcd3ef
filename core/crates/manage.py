"""Reading and changing a crate outside jobs: list, remove, stats, and /next's input.

Synchronous (SQLAlchemy sync sessions, like the library); the command layer calls
these in a worker thread.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.crates.suggest import Candidate, Suggestion, suggest
from core.errors import BadInput
from core.settings import Settings


@dataclass(frozen=True)
class Listed:
    number: int
    label: str
    duration_s: float
    bpm: float | None
    key: str | None
    camelot: str | None
    path: str
    bpm_alternatives: tuple[float, ...] = ()  # other plausible tempos (an ambiguous track)


def _stores(settings: Settings) -> tuple[Any, Any]:
    from storage.analysis import AnalysisStore
    from storage.crates import CrateStore

    return CrateStore(settings.database_url), AnalysisStore(settings.database_url)


def list_crate(settings: Settings, crate: str) -> list[Listed]:
    crates, analyses = _stores(settings)
    try:
        out = []
        for e in crates.entries(crate):
            a = analyses.get(e.path) or {}
            bpm = a.get("bpm")
            out.append(
                Listed(
                    e.number,
                    e.label,
                    e.duration_s,
                    float(bpm) if bpm else None,
                    a.get("key"),
                    a.get("camelot"),
                    e.path,
                    tuple(float(b) for b in a.get("bpm_alternatives") or []),
                )
            )
        return out
    finally:
        analyses.close()


def find(entries: list[Listed], ref: str) -> Listed:
    """An entry by its number, or by a unique part of 'Artist — Title'."""
    ref = ref.strip()
    if not entries:
        raise BadInput("the crate is empty: add tracks with /crate add")
    if ref.isdigit():
        number = int(ref)
        for entry in entries:
            if entry.number == number:
                return entry
        raise BadInput(f"no track {number} in the crate (it has {len(entries)}; see /crate list)")
    needle = ref.casefold()
    hits = [e for e in entries if needle in e.label.casefold()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise BadInput(f"no track in the crate matches {ref!r}; see /crate list")
    names = ", ".join(f"{e.number}. {e.label}" for e in hits[:5])
    raise BadInput(f"{ref!r} matches {len(hits)} tracks ({names}); give its number")


def remove(settings: Settings, crate: str, ref: str) -> Listed:
    """Take a track out of the crate; its fingerprints and audio copy go when unused."""
    from core.identify.library import remove_tracks
    from storage.library import LibraryStore

    crates, analyses = _stores(settings)
    try:
        entry = find(list_crate(settings, crate), ref)
        stored = next(e for e in crates.entries(crate) if e.number == entry.number)
        crates.remove(crate, stored.id)
        if crates.holders(stored.track_id) == 0 and not LibraryStore(
            settings.database_url
        ).is_in_library(stored.track_id):
            remove_tracks(settings, [stored.track_id])
        if crates.paths_in_use(stored.path) == 0:
            analyses.delete(stored.path)
            folder = Path(stored.path).parent
            if folder.is_relative_to(settings.crates_dir):
                shutil.rmtree(folder, ignore_errors=True)
        return entry
    finally:
        analyses.close()


def stats(settings: Settings, crate: str) -> dict[str, Any]:
    from storage.crates import CrateStore

    entries = list_crate(settings, crate)
    totals = CrateStore(settings.database_url).totals(crate)
    bpms = sorted(e.bpm for e in entries if e.bpm)
    keys = Counter(e.camelot for e in entries if e.camelot)
    return {
        "tracks": totals.tracks,
        "hours": totals.seconds / 3600,
        "size_mb": totals.size_bytes / 1e6,
        "bpm_min": bpms[0] if bpms else None,
        "bpm_max": bpms[-1] if bpms else None,
        "bpm_median": bpms[len(bpms) // 2] if bpms else None,
        "keys": dict(keys.most_common()),
        "limits": {
            "tracks": settings.crate_max_tracks,
            "hours": settings.crate_max_hours,
            "size_mb": settings.crate_max_mb,
        },
    }


def next_tracks(
    settings: Settings, crate: str, ref: str, window_pct: float = 8.0, limit: int = 5
) -> tuple[Listed, list[Suggestion]]:
    entries = list_crate(settings, crate)
    current = find(entries, ref)

    def candidate(e: Listed) -> Candidate:
        return Candidate(e.label, e.number, e.bpm or 0.0, e.key, e.camelot)

    return current, suggest(candidate(current), [candidate(e) for e in entries], window_pct, limit)


def crate_paths(settings: Settings, crate: str) -> list[str]:
    """Every audio file of the crate (for /sections crate)."""
    from storage.crates import CrateStore

    paths = [e.path for e in CrateStore(settings.database_url).entries(crate)]
    if not paths:
        raise BadInput("the crate is empty: add tracks with /crate add")
    return paths
