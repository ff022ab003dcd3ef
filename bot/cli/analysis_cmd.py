"""``cratebot analyze`` and ``cratebot sections``: track analysis and tempo-aligned sections."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import add_home, fail, guarded, print_json, progress_bar, settings_from_args
from core.errors import BadInput, CrateBotError

# -- analyze ---------------------------------------------------------------------


def _describe(struct: dict[str, Any]) -> str:
    intro = next((s["end"] for s in struct.get("segments", []) if s["label"] == "intro"), None)
    bpm = f"{struct['bpm']:.2f}" if struct.get("bpm") else "-"
    lufs = f"{struct['loudness_lufs']:.1f} LUFS" if struct.get("loudness_lufs") is not None else "-"
    intro_text = f"intro ends {intro:.2f} s" if intro is not None else "no intro found"
    return (
        f"{Path(struct['path']).name}: {bpm} BPM, {struct.get('key') or '-'} "
        f"({struct.get('camelot') or '-'}), {struct.get('duration', 0):.1f} s, {lufs}, "
        f"{len(struct.get('segments', []))} segments, {intro_text}"
    )


@guarded
def analyze_command(args: argparse.Namespace) -> int:
    from core.analysis.model import TrackAnalysis, write_struct_file
    from core.sections.sources import analysis_for_file, expand_paths
    from storage.analysis import AnalysisStore

    settings = settings_from_args(args)
    paths = expand_paths(args.paths)
    results: list[dict[str, Any]] = []
    failures = 0
    with AnalysisStore(settings.database_url) as store:
        for path in paths:
            try:
                with progress_bar(Path(path).name) as sink:
                    if args.force:
                        store.delete(path)
                    analysis: TrackAnalysis = analysis_for_file(Path(path), settings, store, sink)
            except CrateBotError as exc:
                failures += 1
                fail(str(exc))
                continue
            struct = analysis.to_struct()
            results.append(struct)
            if args.struct_out:
                write_struct_file(analysis, Path(args.struct_out).expanduser())
            if not args.json:
                sys.stdout.write(_describe(struct) + "\n")
    if args.json:
        print_json(results)
    return 2 if failures else 0


# -- sections --------------------------------------------------------------------


def _write_absolute_csv(job_csv: Path, target: Path) -> None:
    """The job's CSV with part paths made absolute, so it can live anywhere."""
    with job_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0].keys()) if rows else []
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            for column in ("part_file_orig", "part_file"):
                row[column] = str((job_csv.parent / row[column]).resolve())
            writer.writerow(row)


@guarded
def sections_command(args: argparse.Namespace) -> int:
    from core.jobs import LocalProgress, run_in_process
    from core.sections.job import sections_job

    if not (args.paths or args.library or args.struct_dir):
        raise BadInput("give audio files or folders, --library or --struct-dir")
    settings = settings_from_args(args)
    params: dict[str, Any] = {
        "sources": [str(Path(p).expanduser().resolve()) for p in args.paths],
        "library": args.library,
        "struct_dir": args.struct_dir,
        "audio_dir": args.audio_dir,
        "bpm": args.bpm,
        "delta": args.delta,
        "key": args.key,
        "harmonic": args.harmonic,
        "target_bpm": args.target_bpm,
        "bars": args.bars,
        "mix_bars": args.mix_bars,
        "rekordbox_xml": args.rekordbox_xml,
        "dj_library": _library_arg(args.dj_library),
    }
    out = Path(args.out).expanduser().resolve()
    cues_out = Path(args.cues_out).expanduser().resolve() if args.cues_out else None
    if cues_out is not None:
        if cues_out.suffix.lower() != ".xml":
            raise BadInput(f"--cues-out writes a Rekordbox XML; give a .xml file, not {cues_out}")
        for given in (args.dj_library, args.rekordbox_xml):
            if given and Path(given).expanduser().resolve() == cues_out:
                raise BadInput("--cues-out must be a new file, not the collection being read")
    with progress_bar("sections") as sink:
        output = run_in_process(sections_job, params, out, settings, LocalProgress(sink))
    result = output.result
    if args.csv_out:
        _write_absolute_csv(out / result["csv"], Path(args.csv_out).expanduser().resolve())
    if cues_out is not None:
        from core.sections.cues_xml import write_cues_xml

        write_cues_xml(
            result["selected"], out, cues_out, f"CrateBot sections {result['target_bpm']:g} BPM"
        )
        result["cues_xml"] = str(cues_out)
    if args.json:
        print_json(result)
    else:
        for row in result["selected"]:
            sys.stdout.write(
                f"{Path(row['path']).name}: {row['bpm']:.2f} BPM x{row['speed']:.4f} -> "
                f"{row['target_bpm']:g}, {row['key'] or '-'}, {row['ini_cue']:.2f}-"
                f"{row['end_cue']:.2f} s -> {out / row['part_file']}\n"
            )
        for item in result["skipped"]:
            sys.stderr.write(f"skipped {Path(item['path']).name}: {item['reason']}\n")
        sys.stdout.write(
            f"{result['count']} section(s) in {out} (CSV: {out / result['csv']}, "
            f"zip: {out / result['zip']})\n"
        )
        if cues_out is not None:
            sys.stdout.write(f"Rekordbox XML with cues: {cues_out}\n")
    return 0


def _library_arg(value: str | None) -> str | None:
    """An absolute path for the job (it runs in another folder); the word serato stays."""
    if not value:
        return None
    from core.sections.djlibrary import SERATO_WORD

    if value.strip().lower() == SERATO_WORD:
        return SERATO_WORD
    return str(Path(value).expanduser().resolve())


def register(subparsers: argparse._SubParsersAction) -> None:
    analyze = subparsers.add_parser(
        "analyze",
        help="analyse tracks: BPM, beats, downbeats, key, segments, loudness",
        description="Analyse audio files (or folders of them) and store the results in the "
        "library. --json prints all-in-one structure objects.",
    )
    analyze.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders")
    analyze.add_argument("--json", action="store_true", help="print a JSON list of structures")
    analyze.add_argument("--force", action="store_true", help="re-analyse stored tracks")
    analyze.add_argument(
        "--struct-out", metavar="DIR", help="also write one all-in-one JSON per track into DIR"
    )
    add_home(analyze)
    analyze.set_defaults(func=analyze_command)

    sections = subparsers.add_parser(
        "sections",
        help="export tempo-aligned sections of tracks near a BPM",
        description="Select tracks within --delta of --bpm (and --key), cut --bars bars from "
        "the end of the intro, and export them time-stretched to the target BPM.",
    )
    sections.add_argument("paths", nargs="*", metavar="PATH", help="audio files or folders")
    sections.add_argument(
        "--library", action="store_true", help="choose from every analysed track in the library"
    )
    sections.add_argument(
        "--struct-dir",
        metavar="DIR",
        help="folder of all-in-one structure JSONs (e.g. from Crowdstream)",
    )
    sections.add_argument(
        "--audio-dir",
        metavar="DIR",
        help="where the audio of --struct-dir JSONs lives (matched by name)",
    )
    sections.add_argument("--bpm", type=float, required=True, help="tempo to select around")
    sections.add_argument("--delta", type=float, default=2.0, help="BPM tolerance (default 2)")
    sections.add_argument("--key", help='keys to admit, any notation: "Gm,Cm", "6A", "G minor"')
    sections.add_argument(
        "--harmonic", action="store_true", help="also admit Camelot neighbours of --key"
    )
    sections.add_argument(
        "--target-bpm", type=float, metavar="T", help="tempo of the exported parts (default: --bpm)"
    )
    sections.add_argument("--bars", type=int, default=16, help="section length in bars")
    sections.add_argument(
        "--mix-bars",
        type=int,
        metavar="N",
        help="bars of the mix-out zone at the end (begin_cue; default bars/4)",
    )
    sections.add_argument(
        "--rekordbox-xml",
        metavar="FILE",
        help="Rekordbox collection XML whose BPM, key, grid and cues override",
    )
    sections.add_argument(
        "--dj-library",
        metavar="FILE",
        help="DJ library whose BPM, key, grid and cues override, by file type: Rekordbox "
        ".xml, Traktor collection.nml, Serato 'database V2' (or _Serato_ folder, or the "
        "word serato: grid and cues from each track's tags)",
    )
    sections.add_argument(
        "--cues-out",
        metavar="FILE.xml",
        help="also write a new Rekordbox XML with the parts, their grid and ini/begin/end cues",
    )
    sections.add_argument(
        "--out",
        metavar="DIR",
        default="sections",
        help="output folder for parts, CSV and zip (default ./sections)",
    )
    sections.add_argument("--csv-out", metavar="FILE", help="also write the CSV here")
    sections.add_argument("--json", action="store_true", help="print the result as JSON")
    add_home(sections)
    sections.set_defaults(func=sections_command)
