"""Which ffmpeg binary to run: the one on PATH, else the one bundled by imageio-ffmpeg."""

from __future__ import annotations

import functools
import os
import shutil


@functools.cache
def ffmpeg_exe() -> str:
    override = os.environ.get("CRATEBOT_FFMPEG")
    if override:
        return override
    found = shutil.which("ffmpeg")
    if found:
        return found
    # imageio-ffmpeg ships a static ffmpeg inside its wheel, so no system step is needed.
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_input(path: str | os.PathLike[str]) -> str:
    """``path`` as an ffmpeg argument that is always read as a local file.

    A relative name such as ``Live:Set.wav`` would otherwise be taken for a protocol
    (``Live:``); the ``file:`` prefix on the absolute path rules that out.
    """
    return "file:" + os.path.abspath(os.fspath(path))
