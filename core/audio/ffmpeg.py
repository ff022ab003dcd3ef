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
