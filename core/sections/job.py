"""Job kind ``sections``: select tracks by tempo and key, export tempo-aligned sections.

Params (JSON-safe): ``sources`` (paths, folders or URLs), ``library`` (bool: every
analysed track), ``struct_dir`` (folder of all-in-one JSONs) and ``audio_dir``;
``bpm`` (required), ``delta`` (2), ``key`` ("Gm,Cm", any notation), ``harmonic``,
``target_bpm`` (default: ``bpm``), ``bars`` (16), ``mix_bars`` (a quarter of
``bars``), ``dj_library`` (a Rekordbox ``.xml``, Traktor ``.nml``, Serato ``database V2``
or ``serato``) and its older name ``rekordbox_xml``. Output: ``sections.zip`` (parts + CSV) and
``sections.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.jobs.context import JobContext
from core.jobs.types import JobOutput
from core.sections.cues import Unsuitable, section_cues
from core.sections.cues_xml import part_grid
from core.sections.djlibrary import DjCollection, apply_override, load_dj_library
from core.sections.export import export_section
from core.sections.report import SectionRow, write_csv, write_zip
from core.sections.select import TrackFilter
from core.sections.sources import (
    Candidate,
    expand_paths,
    from_library,
    from_sources,
    from_struct_dir,
)

DEFAULT_BARS = 16
DEFAULT_DELTA = 2.0


def _number(params: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = params.get(name, default)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} must be a number, not {value!r}") from exc


def _safe_stem(path: str, taken: set[str]) -> str:
    stem = re.sub(r"[^\w.\-]+", "_", Path(path.replace("\\", "/")).stem).strip("._") or "track"
    name, n = stem, 2
    while name.lower() in taken:
        name, n = f"{stem}_{n}", n + 1
    taken.add(name.lower())
    return name


def _dj_library(params: dict[str, Any]) -> DjCollection | None:
    dj_library, rekordbox_xml = params.get("dj_library"), params.get("rekordbox_xml")
    if dj_library and rekordbox_xml:
        raise BadInput("give either --dj-library or --rekordbox-xml, not both")
    if rekordbox_xml:
        from core.sections.rekordbox import RekordboxCollection

        return RekordboxCollection.load(str(rekordbox_xml))
    return load_dj_library(str(dj_library)) if dj_library else None


def sections_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    settings, progress, workdir = ctx.settings, ctx.progress, ctx.workdir
    bpm = _number(params, "bpm")
    if bpm is None:
        raise BadInput("a sections request needs --bpm (the tempo to select around)")
    delta = _number(params, "delta", DEFAULT_DELTA) or 0.0
    keys = params.get("key") or params.get("keys")
    selector = TrackFilter.build(bpm, delta, keys, bool(params.get("harmonic")))
    target_bpm = _number(params, "target_bpm") or bpm
    try:
        bars = int(params.get("bars") or DEFAULT_BARS)
        mix_bars = None if params.get("mix_bars") is None else int(params["mix_bars"])
    except (TypeError, ValueError) as exc:
        raise BadInput(f"bars must be whole numbers ({exc})") from exc
    if bars < 1:
        raise BadInput(f"--bars must be at least 1, not {bars}")
    sources = params.get("sources") or ([params["source"]] if params.get("source") else [])
    if isinstance(sources, str):
        sources = [sources]
    library = bool(params.get("library"))
    struct_dir = params.get("struct_dir")
    if not (sources or library or struct_dir):
        raise BadInput("give tracks (paths or links), --library or --struct-dir")
    collection = _dj_library(params)

    # -- gather candidates ----------------------------------------------------------
    progress(0.0, "reading tracks")
    store = None
    if library or sources:
        from storage.analysis import AnalysisStore

        store = AnalysisStore(settings.database_url)
    try:
        candidates: list[Candidate] = []
        if sources:
            paths = expand_paths([str(s) for s in sources])
            candidates += from_sources(
                paths, workdir, settings, store, lambda f, t: progress(0.5 * f, t)
            )
        if library and store is not None:
            candidates += from_library(store)
        if struct_dir:
            audio_dir = Path(params["audio_dir"]).expanduser() if params.get("audio_dir") else None
            candidates += from_struct_dir(Path(struct_dir), audio_dir)
    finally:
        if store is not None:
            store.close()

    # -- select and plan ----------------------------------------------------------
    skipped: list[dict[str, str]] = []
    plans = []
    seen: set[str] = set()
    for candidate in candidates:
        analysis = candidate.analysis
        if analysis.path in seen:
            continue
        seen.add(analysis.path)
        ini_cue: float | None = None
        overridden: tuple[str, ...] = ()
        entry = collection.match(analysis.path) if collection is not None else None
        if entry is not None:
            override = apply_override(analysis, entry)
            analysis, ini_cue, overridden = override.analysis, override.ini_cue, override.fields
        cue_label = f"{collection.software} cue" if collection is not None else "rekordbox cue"
        reason = selector.reject_reason(analysis)
        if reason is None and candidate.audio is None:
            reason = "audio file not found"
        if reason is None:
            try:
                cues = section_cues(
                    analysis, bars, target_bpm, mix_bars, ini_cue, cue_label=cue_label
                )
            except Unsuitable as exc:
                reason = str(exc)
        if reason is not None:
            skipped.append({"path": analysis.path, "reason": reason})
            continue
        plans.append((candidate, analysis, cues, overridden))
    if not plans:
        detail = "; ".join(f"{Path(s['path']).name}: {s['reason']}" for s in skipped[:10])
        more = f" (and {len(skipped) - 10} more)" if len(skipped) > 10 else ""
        raise BadInput(
            f"no track gave a section: {detail}{more}" if skipped else "no tracks to choose from"
        )

    # -- export ---------------------------------------------------------------------
    out_dir = workdir
    parts_dir = out_dir / "parts"
    rows: list[SectionRow] = []
    selected: list[dict[str, Any]] = []
    taken: set[str] = set()
    for n, (candidate, analysis, cues, overridden) in enumerate(plans):
        stem = _safe_stem(analysis.path, taken)
        progress(0.5 + 0.45 * n / len(plans), f"exporting {Path(analysis.path).name}")
        assert candidate.audio is not None
        part = export_section(
            candidate.audio,
            cues,
            parts_dir / f"{stem}_sectioned.wav",
            parts_dir / "orig" / f"{stem}_sectioned.wav",
        )
        row = SectionRow(
            path=analysis.path,
            bpm=cues.bpm,
            key=analysis.key,
            camelot=analysis.camelot,
            target_bpm=cues.target_bpm,
            speed=cues.speed,
            ini_cue=cues.ini_cue,
            begin_cue=cues.begin_cue,
            end_cue=cues.end_cue,
            begin_cue_adj=cues.begin_cue_adj,
            end_cue_adj=cues.end_cue_adj,
            duration_orig=cues.duration_orig,
            duration_sectioned=part.frames_sectioned / cues.sample_rate,
            part_file_orig=str(part.part_file_orig),
            part_file=str(part.part_file),
        )
        rows.append(row)
        selected.append(
            {
                **row.as_dict(),
                "part_file": part.part_file.relative_to(out_dir).as_posix(),
                "part_file_orig": part.part_file_orig.relative_to(out_dir).as_posix(),
                "ini_source": cues.ini_source,
                "rekordbox": list(overridden),
                "dj_library": collection.software if overridden and collection else None,
                "ini_position": cues.ini_position,
                "grid": [[m.start, m.bpm, m.beat] for m in part_grid(analysis, cues)],
            }
        )

    progress(0.95, "packing")
    csv_path = write_csv(rows, out_dir / "sections.csv", base=out_dir)
    files = [csv_path] + [Path(r.part_file_orig) for r in rows] + [Path(r.part_file) for r in rows]
    zip_path = write_zip(workdir / "sections.zip", workdir, files)
    progress(1.0, f"{len(rows)} section(s)")
    return JobOutput(
        result={
            "target_bpm": target_bpm,
            "bars": bars,
            "count": len(rows),
            "selected": selected,
            "skipped": skipped,
            "csv": "sections.csv",
            "zip": "sections.zip",
        },
        files=[zip_path.relative_to(workdir).as_posix(), csv_path.relative_to(workdir).as_posix()],
    )
