"""Is a file audio at all, and how long is it?

imageio-ffmpeg ships ffmpeg but not ffprobe, so the stream header that
``ffmpeg -i`` prints is parsed here; when the container does not state a
duration the stream is decoded to a null sink to measure it.
"""

from __future__ import annotations

import errno
import os
import re
import stat as stat_module
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.audio.ffmpeg import ffmpeg_exe, ffmpeg_input
from core.errors import BadInput

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO = re.compile(
    r"Stream #\S+.*?: Audio: (?P<codec>[^,\s]+)[^\n]*?(?P<rate>\d+) Hz(?:, (?P<layout>[^,\n]+))?"
)
_TIME = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")
_PROBE_TIMEOUT_S = 60


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration_s: float
    sample_rate: int
    channels: int
    codec: str
    size_bytes: int


def _channels(layout: str | None) -> int:
    if not layout:
        return 2
    layout = layout.strip()
    named = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}
    if layout in named:
        return named[layout]
    match = re.match(r"(\d+) channels", layout)
    if match:
        return int(match.group(1))
    head = layout.split("(")[0]
    return named.get(head, 2)


def _hms(match: re.Match[str]) -> float:
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3))


def _measure_by_decoding(path: Path, size: int) -> float:
    # No stated duration: decode to a null sink. The time allowed grows with the file's
    # size (at least 1 MB/s, far below ffmpeg's real pace) so a stalled decode ends.
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_input(path)]
    cmd += ["-vn", "-f", "null", "-"]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PROBE_TIMEOUT_S + size / 1e6,
        )
    except subprocess.TimeoutExpired as exc:
        raise BadInput(
            f"{path.name}: could not be read (measuring its length took too long)"
        ) from exc
    times = list(_TIME.finditer(proc.stderr))
    return _hms(times[-1]) if times else 0.0


def check_local_file(path: Path) -> int:
    """``path`` is a readable regular file: return its size, else raise a specific ``BadInput``."""
    name = path.name
    try:
        st = path.stat()
    except OSError as exc:
        reason = {
            errno.ENOENT: "no such file",
            errno.ENOTDIR: "no such file (a part of the path is not a folder)",
            errno.ENAMETOOLONG: "the file name is too long",
            errno.ELOOP: "the path is a symbolic link loop",
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
        }.get(exc.errno or 0, f"cannot be opened ({os.strerror(exc.errno or 0)})")
        raise BadInput(f"{_short(name)}: {reason}") from None
    if stat_module.S_ISDIR(st.st_mode):
        raise BadInput(f"{_short(name)}: is a folder, not a file")
    if not stat_module.S_ISREG(st.st_mode):
        raise BadInput(f"{_short(name)}: not a regular file")
    if not os.access(path, os.R_OK):
        raise BadInput(f"{_short(name)}: permission denied")
    return st.st_size


def _short(name: str) -> str:
    """File names in messages stay readable (names can be up to 255 bytes, or longer)."""
    return name if len(name) <= 80 else name[:60] + "…" + name[-15:]


def probe_audio(
    path: str | Path, max_duration_s: float | None = None, max_bytes: int | None = None
) -> AudioInfo:
    """Validate ``path`` as an audio file; raise ``BadInput`` with a specific reason."""
    path = Path(path)
    size = check_local_file(path)
    name = _short(path.name)
    if size == 0:
        raise BadInput(f"{name}: the file is empty")
    if max_bytes is not None and size > max_bytes:
        raise BadInput(
            f"{name}: {size / 1e6:.0f} MB is over the {max_bytes / 1024 / 1024:.0f} MB limit"
        )
    try:
        proc = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_input(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise BadInput(f"{name}: could not be read (ffmpeg took too long to open it)") from exc
    err = proc.stderr
    audio = _AUDIO.search(err)
    if audio is None:
        if "Invalid data found" in err or "could not find codec" in err.lower():
            raise BadInput(f"{name}: not an audio file, or a corrupt one (ffmpeg cannot read it)")
        if "Stream #" in err:
            raise BadInput(f"{name}: has no audio stream")
        raise BadInput(
            f"{name}: not an audio file, or a corrupt one (ffmpeg found no audio stream)"
        )
    duration_match = _DURATION.search(err)
    duration = _hms(duration_match) if duration_match else 0.0
    if duration <= 0:
        duration = _measure_by_decoding(path, size)
    if duration <= 0:
        raise BadInput(f"{name}: contains no decodable audio")
    if max_duration_s is not None and duration > max_duration_s:
        raise BadInput(f"{name}: {_fmt(duration)} long, over the limit of {_fmt(max_duration_s)}")
    return AudioInfo(
        path=path,
        duration_s=duration,
        sample_rate=int(audio.group("rate")),
        channels=_channels(audio.group("layout")),
        codec=audio.group("codec"),
        size_bytes=size,
    )


def _fmt(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
