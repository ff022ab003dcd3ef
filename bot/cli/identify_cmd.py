"""``cratebot id SOURCE``: identify the tracks of a mix (the ``identify`` job, run in-process)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bot.cli.common import add_home, guarded, print_json, progress_bar, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "id",
        help="identify the tracks in a DJ mix (file or link)",
        description="Identify the tracks of a mix against the local library "
        "(`cratebot index`) and online recognizers.",
    )
    parser.add_argument("source", metavar="SOURCE", help="audio file or http(s) link")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--recognizers",
        metavar="LIST",
        help="comma-separated: local,shazam,audd (default: local,shazam and "
        "audd when CRATEBOT_AUDD_TOKEN is set)",
    )
    parser.add_argument("--cue", type=Path, metavar="FILE", help="write a CUE sheet")
    parser.add_argument("--png", type=Path, metavar="FILE", help="write a timeline picture")
    add_home(parser)
    parser.set_defaults(func=guarded(_identify))


def _identify(args: argparse.Namespace) -> int:
    from core.identify.job import identify_job, parse_recognizers
    from core.identify.outputs import format_text
    from core.jobs import LocalProgress, run_in_process

    settings = settings_from_args(args)
    recognizers = parse_recognizers(args.recognizers, settings)
    with tempfile.TemporaryDirectory(dir=settings.work_dir, prefix="id-") as tmp:
        with progress_bar() as sink:
            output = run_in_process(
                identify_job,
                {"source": args.source, "recognizers": recognizers},
                Path(tmp),
                settings,
                LocalProgress(sink),
            )
        result = dict(output.result)
        notes = result.pop("notes", [])
        for note in notes:
            sys.stderr.write(f"cratebot: note: {note}\n")
        if args.cue:
            shutil.copyfile(Path(tmp) / "tracklist.cue", args.cue)
        if args.png:
            shutil.copyfile(Path(tmp) / "timeline.png", args.png)
    if args.json:
        print_json(result)
    else:
        print(format_text(result))
    return 0
