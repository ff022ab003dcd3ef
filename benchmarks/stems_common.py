"""Shared helpers for the stems benchmarks: synthetic inputs and model repos."""

from __future__ import annotations

import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.audio.ffmpeg import ffmpeg_exe  # noqa: E402

SOURCES = ["drums", "bass", "other", "vocals"]


def full_size_htdemucs():
    """htdemucs' architecture (42 M weights, 7.8 s segment), randomly initialised."""
    from demucs.htdemucs import HTDemucs

    return HTDemucs(
        SOURCES,
        samplerate=44100,
        segment=Fraction(39, 5),
        channels=48,
        depth=4,
        dconv_mode=3,
        t_layers=5,
        bottom_channels=512,
    ).eval()


def make_repo(folder: Path, which: str) -> str:
    """Save a model named ``which`` ("full" or "tiny") into ``folder``; returns its name."""
    import torch
    from demucs.states import get_state, save_with_checksum

    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob(f"{which}-*.th")):
        torch.manual_seed(0)
        if which == "full":
            model = full_size_htdemucs()
        else:
            sys.path.insert(0, str(ROOT))
            from tests.stems.tiny_models import tiny_htdemucs

            model = tiny_htdemucs()
        args, kwargs = model._init_args_kwargs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save_with_checksum(
                {
                    "klass": model.__class__,
                    "args": args,
                    "kwargs": kwargs,
                    "state": get_state(model, None, half=True),
                },
                folder / f"{which}.th",
            )
    return which


def make_input(path: Path, seconds: float) -> Path:
    """A stereo MP3 of ``seconds`` of tones and noise (ffmpeg's own generators)."""
    if path.exists():
        return path
    graph = (
        f"sine=f=220:d={seconds}[a];sine=f=331:d={seconds}[b];"
        f"anoisesrc=d={seconds}:a=0.05:c=pink[n];"
        "[a][b]amerge=inputs=2[ab];[ab][n]amix=inputs=2:normalize=0,volume=0.5"
    )
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-filter_complex",
            graph,
            "-ac",
            "2",
            "-ar",
            "44100",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "192k",
            str(path),
        ],
        check=True,
    )
    return path
