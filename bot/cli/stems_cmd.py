"""``cratebot stems SOURCE ...``: Demucs stems and backing tracks, zipped with a manifest."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.cli.common import add_home, guarded, print_json, progress_bar, settings_from_args
from core.audio.fetch import is_url
from core.jobs import LocalProgress, run_in_process
from core.stems.formats import DEFAULT_FORMAT, FORMATS
from core.stems.models import DEFAULT_MODEL


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stems",
        help="split a song into stems / backing tracks with Demucs",
        description=(
            "Separate SOURCE (a file or a link) with Demucs into one file per stem, plus "
            "the requested mixes, a manifest.json and a zip of them all; prints the zip's path."
        ),
    )
    parser.add_argument("source", metavar="SOURCE", help="audio/video file or http(s) link")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="Demucs model name (htdemucs, htdemucs_ft, htdemucs_6s, "
        "mdx_extra, ...; default %(default)s)",
    )
    parser.add_argument(
        "--model-repo",
        metavar="DIR",
        help="folder of demucs model files (*.th + NAME.yaml); default $CRATEBOT_DEMUCS_REPO",
    )
    parser.add_argument(
        "--stems",
        metavar="NAMES",
        help="comma-separated stems to write (default: all the model has)",
    )
    parser.add_argument(
        "--minus", metavar="NAME", help="also write no_NAME: the song without that stem"
    )
    parser.add_argument(
        "--two-stems", metavar="NAME", help="write only NAME and no_NAME (everything else)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=DEFAULT_FORMAT,
        help="output format (default %(default)s)",
    )
    parser.add_argument(
        "--bitrate",
        type=int,
        default=320,
        metavar="KBPS",
        help="MP3 bitrate in kbit/s (default %(default)s)",
    )
    parser.add_argument(
        "--normalize",
        type=float,
        metavar="LUFS",
        help="normalise each file to this integrated loudness (e.g. -14), "
        "never letting its peak pass -1 dBFS",
    )
    parser.add_argument(
        "--hpss", action="store_true", help="also write the harmonic/percussive split of the input"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="output folder (default ./NAME-stems next to where you run it)"
    )
    parser.add_argument(
        "--json", action="store_true", help='print {"zip": ..., "files": [...], "manifest": {...}}'
    )
    add_home(parser)
    parser.set_defaults(func=guarded(run_stems_command))


def _default_out(source: str) -> Path:
    from core.stems.pipeline import safe_name

    name = "stems" if is_url(source) else f"{safe_name(Path(source).stem)}-stems"
    return Path.cwd() / name


def run_stems_command(args: argparse.Namespace) -> int:
    # Imported here: torch and demucs cost ~300 MB and seconds, which other commands must not pay.
    from core.stems.job import stems_job
    from core.stems.options import StemsOptions

    settings = settings_from_args(args)
    params: dict[str, Any] = {
        "source": args.source,
        "model": args.model,
        "model_repo": args.model_repo,
        "stems": args.stems,
        "minus": args.minus,
        "two_stems": args.two_stems,
        "format": args.format,
        "bitrate": args.bitrate,
        "normalize": args.normalize,
        "hpss": args.hpss,
    }
    StemsOptions.from_params(params)  # refuse bad flags before any work
    out_dir = Path(args.out).expanduser() if args.out else _default_out(args.source)
    workdir = Path(tempfile.mkdtemp(prefix="stems-", dir=settings.work_dir))
    try:
        with progress_bar() as sink:
            output = run_in_process(stems_job, params, workdir, settings, LocalProgress(sink))
        out_dir.mkdir(parents=True, exist_ok=True)
        placed = {}
        for name in output.files:
            target = out_dir / name
            shutil.move(str(workdir / name), target)
            placed[name] = target.resolve()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    zip_path = placed[output.result["zip"]]
    if args.json:
        print_json(
            {
                "zip": str(zip_path),
                "files": [str(placed[name]) for name in output.result["files"]],
                "manifest": output.result["manifest"],
            }
        )
    else:
        sys.stdout.write(f"{zip_path}\n")
    return 0
