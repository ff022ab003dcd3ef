"""``manifest.json``: what was separated, how, into which files, and how big they are."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from typing import Any

from core.audio.ffmpeg import ffmpeg_exe

MANIFEST_NAME = "manifest.json"
DISCORD_LIMIT_BYTES = 10 * 1024 * 1024  # Discord's upload cap without Nitro: 10 MiB
TELEGRAM_LIMIT_BYTES = 50 * 1000 * 1000  # Bot API upload cap: 50 MB


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _ffmpeg_version() -> str | None:
    try:
        out = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.splitlines()[0] if out else ""
    return first.split(" Copyright")[0].removeprefix("ffmpeg version ").strip() or None


def software_versions(with_librosa: bool) -> dict[str, str | None]:
    import soundfile

    versions = {
        "python": platform.python_version(),
        "cratebot": _version("cratebot"),
        "demucs": _version("demucs"),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "soundfile": _version("soundfile"),
        "libsndfile": soundfile.__libsndfile_version__,
        "pyloudnorm": _version("pyloudnorm"),
        "ffmpeg": _ffmpeg_version(),
    }
    if with_librosa:
        versions["librosa"] = _version("librosa")
    return versions


def size_flags(size_bytes: int) -> dict[str, bool]:
    return {
        "exceeds_discord_limit": size_bytes > DISCORD_LIMIT_BYTES,
        "exceeds_telegram_limit": size_bytes > TELEGRAM_LIMIT_BYTES,
    }


def limits_summary(files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "discord_limit_bytes": DISCORD_LIMIT_BYTES,
        "telegram_limit_bytes": TELEGRAM_LIMIT_BYTES,
        "over_discord_limit": [f["file"] for f in files if f["exceeds_discord_limit"]],
        "over_telegram_limit": [f["file"] for f in files if f["exceeds_telegram_limit"]],
        "total_bytes": sum(f["size_bytes"] for f in files),
    }
