"""The real back end the chat front-end tests drive: database, job runner, command layer,
plus loopback peers (a file server for links, a tiny Demucs repo, a venue Pi).

Shared by ``tests/telegram`` and ``tests/discord``.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
from aiohttp import web

from core.jobs.runner import JobRunner
from core.settings import Settings
from storage.db import open_database

RATE = 44100


@asynccontextmanager
async def command_layer(settings: Settings) -> AsyncIterator:
    """A started runner and the real CommandLayer on ``settings``' home."""
    from bot.commands.layer import CommandLayer

    settings.ensure_dirs()
    db = await open_database(settings.database_url)
    runner = JobRunner(settings, db)
    await runner.start()
    try:
        yield CommandLayer(settings, runner, db, links=True)
    finally:
        await runner.stop()
        await db.dispose()


@asynccontextmanager
async def file_server(folder: Path) -> AsyncIterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL."""
    app = web.Application()
    app.router.add_static("/", folder)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def tiny_demucs_repo(folder: Path) -> Path:
    """A model repo whose ``htdemucs`` is a tiny stand-in (stems add up to the mix)."""
    from tests.stems.tiny_models import SumToMix, save_package

    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save_package(SumToMix(), folder / "htdemucs.th")
    return folder


def write_song(path: Path, seconds: float, seed: int = 0) -> Path:
    """A stereo tone-and-noise clip; mp3/ogg/wav by suffix (ffmpeg-free via soundfile)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    left = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.4 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(t.size)
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), RATE)
    return path


def long_mix(folder: Path, minutes: float) -> str:
    """Write ``long.wav`` beside ``mix.mp3``: the mix, then its unknown half repeated to
    about ``minutes``, at 8 kHz (the rate identify analyses at, so the file stays small).
    Identify runs at hundreds of times real time: jobs that must still be running (or
    show progress) when a test looks need minutes of mix, not one."""
    from scipy.signal import resample_poly

    audio, rate = sf.read(folder / "mix.mp3", dtype="float32")
    audio = resample_poly(audio, 8000, rate).astype(np.float32)
    half = audio[len(audio) // 2 :]
    repeats = max(1, int(minutes * 60 * 8000 / len(half)))
    sf.write(folder / "long.wav", np.concatenate([audio] + [half] * repeats), 8000)
    return "long.wav"


def indexed_mix_site(tmp_path: Path, home: Path) -> Path:
    """A folder holding ``mix.mp3``: an indexed synthetic song (0:00) then an unknown one
    (0:30); the first song is indexed into ``home``'s library."""
    from core.identify.library import index_paths
    from core.settings import load_settings
    from tests.identify.synth import write_songs

    songs = write_songs(tmp_path / "songs", 2, seconds=30.0)
    index_paths(load_settings(home=home), songs[:1])
    audio = np.concatenate([sf.read(p, dtype="float32")[0] for p in songs])
    folder = tmp_path / "www"
    folder.mkdir()
    sf.write(folder / "mix.mp3", audio, RATE)
    return folder
