"""Job kind ``identify``: which tracks a DJ mix plays, from the local library and online services."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.audio import decode_blocks
from core.audio.fetch import resolve_source
from core.errors import BadInput
from core.identify import fingerprint as fp
from core.identify.library import open_index
from core.identify.lookup import StreamingMatcher
from core.identify.matching import find_plays
from core.identify.names import RECOGNIZERS
from core.identify.outputs import render_png, write_cue
from core.identify.tracklist import UNKNOWN_MIN_S, Play, build_tracklist, uncovered
from core.jobs.context import JobContext
from core.jobs.types import JobOutput
from core.settings import Settings

if TYPE_CHECKING:
    from storage.library_reader import LibraryReader

log = logging.getLogger(__name__)

# Streaming frees many mid-sized temporaries that glibc keeps on its heap; handing
# them back every ~65 s of audio holds the resident size flat for a ms-cheap call.
TRIM_EVERY_BLOCKS = 8
PEAK_MMAP_THRESHOLD = 256 * 1024


def parse_recognizers(value: Any, settings: Settings) -> list[str]:
    """A list or comma-separated string; default: local, shazam, and audd when a token is set."""
    if value is None or value == "" or value == []:
        value = getattr(settings, "identify_recognizers", None)
    if value is None or value == "":
        names = ["local", "shazam"] + (["audd"] if settings.audd_token else [])
    elif isinstance(value, str):
        names = [v.strip().lower() for v in value.split(",") if v.strip()]
    else:
        names = [str(v).strip().lower() for v in value]
    unknown = [n for n in names if n not in RECOGNIZERS]
    if unknown:
        raise BadInput(f"unknown recognizer {unknown[0]!r}; choose from {', '.join(RECOGNIZERS)}")
    if not names:
        raise BadInput("no recognizer chosen")
    return list(dict.fromkeys(names))


def identify_local(
    path: Path,
    duration_s: float,
    settings: Settings,
    progress: Callable[[float, str], None],
    crate: str | None = None,
    origins: dict[str, str] | None = None,
) -> tuple[list[Play], list[str]]:
    """Stream-decode the mix, fingerprint it and match it against the local library
    (and ``crate``'s tracks; ``origins`` then learns which of the two each play is from)."""
    from core.identify.memory import limit_heap_growth

    # Not storage.library: its ORM would hold ~18 MB through the matcher's peak.
    from storage.library_reader import LibraryReader

    limit_heap_growth()
    store = LibraryReader(settings.database_url)
    try:
        return _match_locally(path, duration_s, settings, store, progress, crate, origins)
    finally:
        store.close()


def _match_locally(
    path: Path,
    duration_s: float,
    settings: Settings,
    store: LibraryReader,
    progress: Callable[[float, str], None],
    crate: str | None,
    origins: dict[str, str] | None,
) -> tuple[list[Play], list[str]]:
    from core.identify.memory import limit_heap_growth, release_free_memory

    live = store.live_ids(crate)
    if not live:
        return [], ["the local library is empty: add tracks with `cratebot index PATH`"]
    index = open_index(settings)
    matcher = StreamingMatcher(index, np.asarray(live, dtype=np.int64))
    stream = fp.PeakStream()
    seen = 0
    blocks = decode_blocks(path, fp.SAMPLE_RATE, 1, block_frames=1 << 16)
    try:
        for n, block in enumerate(blocks, start=1):
            seen += len(block)
            peaks = stream.feed(block[:, 0])
            if peaks is not None:
                matcher.feed(fp._thin(peaks))
            if n % TRIM_EVERY_BLOCKS == 0:
                release_free_memory()
            progress(min(seen / fp.SAMPLE_RATE / max(duration_s, 1e-6), 1.0), "matching")
        peaks = stream.finish()
        if peaks is not None:
            matcher.feed(fp._thin(peaks))
        del peaks, stream
        matches = matcher.finish()
    finally:
        matcher.close()  # a decode error or a cancel leaves no lookup threads behind
    verifier = matcher.verifier()
    seed_min = matcher.seed_min
    # The index and the matcher's buffers are done with: free them before
    # find_plays, the step where an identification's memory peaks.
    index.close()
    del matcher, index
    release_free_memory()
    # find_plays makes a few big temporaries at once: exact-sized mappings, returned
    # to the system as each is freed, keep the peak lowest there (streaming uses
    # fewer, larger mappings: there the page faults of mapping each cost CPU).
    limit_heap_growth(PEAK_MMAP_THRESHOLD)
    local = find_plays(matches, verifier, seed_min)
    del matches, verifier
    release_free_memory()  # before the tracklist, CUE and picture are made
    tracks = store.labels(
        [p.track_id for p in local] + [a.track_id for p in local for a in p.alternatives]
    )
    plays = []
    for p in local:
        info = tracks.get(p.track_id)
        if info is None:  # removed while we were matching
            continue
        play = Play(p.start_s, p.end_s, info.artist, info.title, p.confidence, {"local"}, p.speed)
        play.alternatives = [
            {
                "artist": tracks[a.track_id].artist,
                "title": tracks[a.track_id].title,
                "confidence": round(a.confidence, 3),
                "recognizer": "local",
            }
            for a in p.alternatives
            if a.track_id in tracks
        ]
        plays.append(play)
        if origins is not None:
            origins[play.identity] = "library" if info.in_library else "crate"
    return plays, []


def _online_services(names: list[str], settings: Settings) -> tuple[list[Any], list[str]]:
    from core.identify.apis.audd import AudDService
    from core.identify.apis.shazam import ShazamService

    services: list[Any] = []
    notes: list[str] = []
    for name in names:
        if name == "shazam":
            services.append(
                ShazamService(settings.shazam_url, getattr(settings, "shazam_rate_per_s", 1.0))
            )
        elif name == "audd":
            if settings.audd_token is None:
                notes.append("audd skipped: set CRATEBOT_AUDD_TOKEN to use it")
                continue
            services.append(
                AudDService(
                    settings.audd_url,
                    settings.audd_token.get_secret_value(),
                    getattr(settings, "audd_rate_per_s", 2.0),
                )
            )
    return services, notes


def identify_online(
    path: Path,
    stretches: list[tuple[float, float]],
    names: list[str],
    settings: Settings,
    progress: Callable[[float, str], None],
) -> tuple[list[Play], list[str]]:
    from core.identify.online import recognize
    from storage.library import LibraryStore

    services, notes = _online_services(names, settings)
    if not services or not stretches:
        return [], notes
    cache = LibraryStore(settings.database_url)
    plays: list[Play] = []
    for service in services:
        result = asyncio.run(
            recognize(
                service,
                path,
                stretches,
                cache,
                timeout_s=getattr(settings, "online_timeout_s", 20.0),
                progress=progress,
            )
        )
        plays.extend(result.plays)
        notes.extend(result.notes)
    return plays, notes


def identify(
    source: str,
    settings: Settings,
    workdir: Path,
    recognizers: list[str],
    progress: Callable[[float, str], None],
    crate: str | None = None,
) -> tuple[dict[str, Any], list[str], Path]:
    """The whole identification; returns the result, notes, and the local audio path.

    With ``crate`` the local search covers that chat's crate besides the library, and
    each locally found track says which one it came from (``matched_in``).
    """
    progress(0.0, "fetching")
    info = resolve_source(source, workdir, settings, lambda f, t: progress(0.1 * f, t))
    plays: list[Play] = []
    notes: list[str] = []
    origins: dict[str, str] = {}
    if "local" in recognizers:
        local, n = identify_local(
            info.path,
            info.duration_s,
            settings,
            lambda f, t: progress(0.1 + 0.7 * f, t),
            crate,
            origins,
        )
        plays += local
        notes += n
    online = [r for r in recognizers if r != "local"]
    if online:
        # Online services only hear what the local library did not recognise.
        gaps = uncovered(plays, info.duration_s, min_s=UNKNOWN_MIN_S / 2)
        found, n = identify_online(
            info.path, gaps, online, settings, lambda f, t: progress(0.8 + 0.18 * f, t)
        )
        plays += found
        notes += n
    tracks = build_tracklist(plays, info.duration_s)
    if crate is not None:
        for entry in tracks:
            if "local" in (entry.get("recognizer") or "").split("+"):
                identity = Play(0, 0, entry["artist"], entry["title"], 0).identity
                entry["matched_in"] = origins.get(identity, "library")
    result = {
        "source": source,
        "duration_s": round(info.duration_s, 2),
        "tracks": tracks,
    }
    return result, notes, info.path


def identify_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    settings, progress, workdir = ctx.settings, ctx.progress, ctx.workdir
    source = params.get("source")
    if not source:
        raise BadInput("identify needs a source (a link or a file)")
    recognizers = parse_recognizers(params.get("recognizers"), settings)
    crate = str(params["crate"]) if params.get("crate") else None
    result, notes, audio = identify(str(source), settings, workdir, recognizers, progress, crate)
    progress(0.98, "writing tracklist")
    (workdir / "tracklist.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    write_cue(result, workdir / "tracklist.cue", Path(audio).name)
    render_png(result, workdir / "timeline.png")
    progress(1.0, f"{sum(1 for t in result['tracks'] if t['title'])} tracks identified")
    return JobOutput(
        result={**result, "notes": notes}, files=["tracklist.json", "tracklist.cue", "timeline.png"]
    )
