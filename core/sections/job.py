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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.analysis.model import TrackAnalysis
from core.analysis.regrid import at_tempo
from core.errors import BadInput
from core.jobs.context import JobContext
from core.jobs.types import JobOutput
from core.sections.cues import SectionCues, Unsuitable, section_cues
from core.sections.cues_xml import part_grid
from core.sections.djlibrary import DjCollection, apply_override, load_dj_library
from core.sections.export import export_section
from core.sections.options import SectionsOptions
from core.sections.report import SectionRow, write_csv, write_zip
from core.sections.select import TrackFilter
from core.sections.sources import (
    Candidate,
    expand_paths,
    from_library,
    from_sources,
    from_struct_dir,
)
from storage.files import safe_name


def _safe_stem(path: str, taken: set[str]) -> str:
    stem = safe_name(Path(path.replace("\\", "/")).stem, "track")
    name, n = stem, 2
    while name.lower() in taken:
        name, n = f"{stem}_{n}", n + 1
    taken.add(name.lower())
    return name


@dataclass(frozen=True)
class _Plan:
    """One selected track and where its section lies."""

    candidate: Candidate
    analysis: TrackAnalysis
    cues: SectionCues
    overridden: tuple[str, ...]
    alternative: bool = False  # selected at one of its alternative tempos


def sections_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    """Gather the candidate tracks, select and plan their sections, export each section,
    then pack the parts and the CSV into a zip."""
    opts = SectionsOptions.from_params(params)
    collection = _dj_library(opts)
    candidates = _gather(opts, ctx)
    plans, skipped = _plan(candidates, opts, collection)
    rows, selected = _export(plans, collection, ctx)
    ctx.progress(0.95, "packing")
    workdir = ctx.workdir
    csv_path = write_csv(rows, workdir / "sections.csv", base=workdir)
    files = [csv_path] + [Path(r.part_file_orig) for r in rows] + [Path(r.part_file) for r in rows]
    zip_path = write_zip(workdir / "sections.zip", workdir, files)
    ctx.progress(1.0, f"{len(rows)} section(s)")
    return JobOutput(
        result={
            "target_bpm": opts.target_bpm,
            "bars": opts.bars,
            "count": len(rows),
            "selected": selected,
            "skipped": skipped,
            "csv": "sections.csv",
            "zip": "sections.zip",
        },
        # The parts are published too, so a result page can play each one.
        files=[p.relative_to(workdir).as_posix() for p in [zip_path, *files]],
    )


def _dj_library(opts: SectionsOptions) -> DjCollection | None:
    if opts.rekordbox_xml:
        from core.sections.rekordbox import RekordboxCollection

        return RekordboxCollection.load(opts.rekordbox_xml)
    return load_dj_library(opts.dj_library) if opts.dj_library else None


def _gather(opts: SectionsOptions, ctx: JobContext) -> list[Candidate]:
    """Every candidate track: given sources (analysed as needed), the library, JSONs."""
    ctx.progress(0.0, "reading tracks")
    store = None
    if opts.library or opts.sources:
        from storage.analysis import AnalysisStore

        store = AnalysisStore(ctx.settings.database_url)
    try:
        candidates: list[Candidate] = []
        if opts.sources:
            paths = expand_paths(list(opts.sources))
            candidates += from_sources(
                paths, ctx.workdir, ctx.settings, store, lambda f, t: ctx.progress(0.5 * f, t)
            )
        if opts.library and store is not None:
            candidates += from_library(store)
        if opts.struct_dir is not None:
            candidates += from_struct_dir(opts.struct_dir, opts.audio_dir)
    finally:
        if store is not None:
            store.close()
    return candidates


def _plan(
    candidates: list[Candidate], opts: SectionsOptions, collection: DjCollection | None
) -> tuple[list[_Plan], list[dict[str, str]]]:
    """The tracks that pass the tempo/key filter and have room for a section, and why
    the others were skipped; BadInput when none is left."""
    selector = TrackFilter.build(opts.bpm, opts.delta, opts.keys, opts.harmonic)
    cue_label = f"{collection.software} cue" if collection is not None else "rekordbox cue"
    skipped: list[dict[str, str]] = []
    plans: list[_Plan] = []
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
        reason = selector.reject_reason(analysis)
        tempo = selector.tempo_for(analysis)
        alternative = reason is None and tempo is not None and tempo != analysis.bpm
        if alternative and tempo is not None:
            # Asked for at its alternative tempo: the grid is re-read at that tempo.
            analysis = at_tempo(analysis, tempo)
        if reason is None and candidate.audio is None:
            reason = "audio file not found"
        if reason is None:
            try:
                cues = section_cues(
                    analysis,
                    opts.bars,
                    opts.target_bpm,
                    opts.mix_bars,
                    ini_cue,
                    cue_label=cue_label,
                )
            except Unsuitable as exc:
                reason = str(exc)
        if reason is not None:
            skipped.append({"path": analysis.path, "reason": reason})
            continue
        plans.append(_Plan(candidate, analysis, cues, overridden, alternative))
    if not plans:
        detail = "; ".join(f"{Path(s['path']).name}: {s['reason']}" for s in skipped[:10])
        more = f" (and {len(skipped) - 10} more)" if len(skipped) > 10 else ""
        raise BadInput(
            f"no track gave a section: {detail}{more}" if skipped else "no tracks to choose from"
        )
    return plans, skipped


def _export(
    plans: list[_Plan], collection: DjCollection | None, ctx: JobContext
) -> tuple[list[SectionRow], list[dict[str, Any]]]:
    """Cut and stretch each planned section into ``parts/`` (and ``parts/orig/``)."""
    out_dir = ctx.workdir
    parts_dir = out_dir / "parts"
    rows: list[SectionRow] = []
    selected: list[dict[str, Any]] = []
    taken: set[str] = set()
    for n, plan in enumerate(plans):
        analysis, cues = plan.analysis, plan.cues
        stem = _safe_stem(analysis.path, taken)
        ctx.progress(0.5 + 0.45 * n / len(plans), f"exporting {Path(analysis.path).name}")
        assert plan.candidate.audio is not None
        part = export_section(
            plan.candidate.audio,
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
                "rekordbox": list(plan.overridden),
                "dj_library": collection.software if plan.overridden and collection else None,
                "ini_position": cues.ini_position,
                # Other plausible tempos; after an alternative was chosen, the analysed one.
                "bpm_alternatives": [round(b, 2) for b in analysis.bpm_alternatives],
                "bpm_confidence": analysis.bpm_confidence,
                "alternative_tempo": plan.alternative,
                "grid": [[m.start, m.bpm, m.beat] for m in part_grid(analysis, cues)],
            }
        )
    return rows, selected
