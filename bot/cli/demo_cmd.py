"""``cratebot demo``: the whole bot on a plain clone, offline, in a minute or two.

It runs the very commands a user would (``index``, ``analyze``, ``id``, ``sections``)
on a crate it writes itself, so a green demo means those commands work here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import add_home, fail, guarded, settings_from_args

AUDIO_SUFFIXES = {".mp3", ".flac", ".wav", ".ogg", ".opus", ".m4a", ".aiff", ".aif"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="try everything offline: a synthetic crate, a DJ mix, its tracklist, sections",
        description="Write a small crate of synthetic tracks (or use --audio DIR), index and "
        "analyse it, render a DJ mix with vinyl and keylock speed changes, identify the mix "
        "and export tempo-aligned sections. Needs no network and no tokens.",
    )
    parser.add_argument(
        "--audio",
        type=Path,
        metavar="DIR",
        help="use the audio files in DIR instead of synthetic tracks (e.g. ../shared/audio)",
    )
    parser.add_argument(
        "--tracks", type=int, default=5, metavar="N", help="tracks in the mix (default 5)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write (default: HOME/demo)"
    )
    add_home(parser)
    parser.set_defaults(func=guarded(_demo))


def _step(number: int, total: int, text: str) -> None:
    sys.stdout.write(f"\n[{number}/{total}] {text}\n")
    sys.stdout.flush()


def _run(argv: list[str]) -> int:
    """One ``cratebot`` command, in this process, exactly as typed on a shell."""
    from bot.cli.main import main

    shown = " ".join(argv)
    sys.stdout.write(f"$ cratebot {shown}\n")
    sys.stdout.flush()
    return main(argv)


def _encode_mp3(mix: Any, sample_rate: int, path: Path) -> None:
    from core.audio import ffmpeg_exe

    path.parent.mkdir(parents=True, exist_ok=True)
    raw = mix.astype("<f4").tobytes()
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "f32le",
            "-ar",
            str(sample_rate),
            "-ac",
            "2",
            "-i",
            "pipe:0",
            "-b:a",
            "192k",
            str(path),
        ],
        input=raw,
        check=True,
        capture_output=True,
    )


def _crate(args: argparse.Namespace, crate_dir: Path) -> list[Path]:
    if args.audio is None:
        from core.demo.songs import DEMO_TRACKS, write_crate

        return write_crate(crate_dir, DEMO_TRACKS[: max(2, min(args.tracks + 1, 6))])
    folder = args.audio.expanduser()
    if not folder.is_dir():
        raise_bad(f"{folder}: no such folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if len(files) < 2:
        raise_bad(f"{folder}: needs at least two audio files")
    return files


def raise_bad(message: str) -> None:
    from core.errors import BadInput

    raise BadInput(message)


def _demo(args: argparse.Namespace) -> int:
    from core.demo.mix import SR, render_mix

    settings = settings_from_args(args)
    home = str(settings.home)
    out = (args.out or settings.home / "demo").expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    total = 6

    _step(1, total, "A crate of tracks")
    crate = _crate(args, out / "crate")
    for path in crate:
        sys.stdout.write(f"  {path}\n")

    _step(2, total, "Index the crate for identification (local fingerprint library)")
    index_argv = ["index", *(str(p) for p in crate), "--home", home]
    metadata = args.audio / "tracks.json" if args.audio else None
    if metadata is not None and metadata.is_file():
        index_argv += ["--metadata", str(metadata)]
    if _run(index_argv) != 0:
        return fail("demo: indexing failed")

    _step(3, total, "Analyse the crate: BPM, key, sections")
    if _run(["analyze", *(str(p) for p in crate), "--home", home]) not in (0,):
        return fail("demo: analysis failed")

    _step(4, total, "Render a DJ mix: excerpts at -6..+6 % speed, vinyl and keylock, crossfaded")
    chosen = crate[: max(2, min(args.tracks, len(crate)))]
    speeds = [(0.94, 1.05, 0.97, 1.06, 1.0, 1.03)[k % 6] for k in range(len(chosen))]
    excerpt_s = 30.0 if args.audio else 40.0
    mix, entries = render_mix(chosen, speeds, excerpt_s=excerpt_s, fade_s=8.0)
    mix_path = out / "mix.mp3"
    _encode_mp3(mix, SR, mix_path)
    truth = [
        {"start_s": round(e.start_s, 1), "file": e.path.name, "speed": e.speed, "mode": e.mode}
        for e in entries
    ]
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    for row in truth:
        minutes, seconds = divmod(int(row["start_s"]), 60)
        sys.stdout.write(
            f"  {minutes:02d}:{seconds:02d}  {row['file']}  x{row['speed']:.2f} ({row['mode']})\n"
        )
    sys.stdout.write(f"  -> {mix_path} ({len(mix) / SR:.0f} s)\n")

    _step(5, total, "Identify the mix (what /id does in chat)")
    results = out / "identify"
    results.mkdir(exist_ok=True)
    code = _run(
        [
            "id",
            str(mix_path),
            "--recognizers",
            "local",
            "--cue",
            str(results / "mix.cue"),
            "--png",
            str(results / "timeline.png"),
            "--home",
            home,
        ]
    )
    if code != 0:
        return fail("demo: identification failed")

    _step(6, total, "Export tempo-aligned sections at 124 BPM (what /sections does in chat)")
    sections_out = out / "sections"
    if sections_out.exists():
        shutil.rmtree(sections_out)
    code = _run(
        [
            "sections",
            *(str(p) for p in crate),
            "--bpm",
            "124",
            "--delta",
            "6",
            "--bars",
            "8",
            "--out",
            str(sections_out),
            "--home",
            home,
        ]
    )
    if code != 0:
        return fail("demo: sections failed")

    sys.stdout.write(
        "\nDone. Where everything is:\n"
        f"  crate:        {out / 'crate'}\n"
        f"  mix + truth:  {mix_path}  {out / 'truth.json'}\n"
        f"  tracklist:    {results / 'mix.cue'}  {results / 'timeline.png'}\n"
        f"  sections:     {sections_out}\n"
        f"  data folder:  {settings.home}\n"
        "Next: `cratebot chat` and type /help, or see README.md.\n"
    )
    return 0
