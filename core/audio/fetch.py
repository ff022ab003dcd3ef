"""Turn a URL or a local path into a validated local audio file.

URLs go through yt-dlp (any site it supports, plain media URLs included). Hosts
that resolve to private, loopback, link-local or otherwise non-public addresses
are refused unless ``allow_private_urls`` is set, so a chat user cannot make the
bot probe the venue's own network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.audio.ffmpeg import ffmpeg_exe
from core.audio.probe import AudioInfo, _fmt, probe_audio
from core.errors import BadInput, TransientError
from core.settings import Settings

ProgressFn = Callable[[float, str], None]


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in {"http", "https"}


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, allow_private: bool) -> None:
    """Refuse URLs that are malformed or whose host is not a public address."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        raise BadInput(f"only http(s) links are accepted, not {parts.scheme or 'this'}")
    host = parts.hostname
    if not host:
        raise BadInput(f"{url}: the link has no host name")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise BadInput(f"{host}: the host name does not resolve") from exc
    for info in infos:
        address = str(info[4][0])
        if not _is_public(address):
            raise BadInput(
                f"{host} resolves to {address}, a private/internal address; such links are refused"
            )


class _Logger:
    """yt-dlp logger that keeps its chatter out of the terminal and chat."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        self.errors.append(msg)


def _ydl_options(
    settings: Settings, dest: Path, logger: _Logger, progress: ProgressFn | None
) -> dict[str, Any]:
    def hook(status: dict[str, Any]) -> None:
        if progress is None or status.get("status") != "downloading":
            return
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        done = status.get("downloaded_bytes") or 0
        if total:
            progress(min(done / total, 1.0), f"downloading {done / 1e6:.1f}/{total / 1e6:.1f} MB")
        else:
            progress(0.0, f"downloading {done / 1e6:.1f} MB")

    return {
        "format": "bestaudio/best",
        "outtmpl": str(dest / "input.%(ext)s"),
        "noplaylist": True,
        "playlist_items": "1",
        "max_filesize": settings.max_download_bytes,
        "ffmpeg_location": ffmpeg_exe(),
        "logger": logger,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "progress_hooks": [hook],
        "socket_timeout": 30,
        "retries": 2,
        "overwrites": True,
        "cachedir": False,
    }


def fetch_url(url: str, dest: Path, settings: Settings, progress: ProgressFn | None = None) -> Path:
    """Download ``url`` into folder ``dest`` and return the file's path."""
    import yt_dlp
    from yt_dlp.utils import DownloadError

    check_url(url, settings.allow_private_urls)
    dest.mkdir(parents=True, exist_ok=True)
    logger = _Logger()
    options = _ydl_options(settings, dest, logger, progress)
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False, process=False)
            if info is None:
                raise BadInput(f"{url}: nothing to download there")
            if info.get("_type") in {"playlist", "multi_video"}:
                raise BadInput("that link is a playlist; send one track or mix at a time")
            duration = info.get("duration")
            if duration and duration > settings.max_duration_s:
                raise BadInput(
                    f"that item is {_fmt(duration)} long, over the limit of "
                    f"{_fmt(settings.max_duration_s)}"
                )
            size = info.get("filesize") or info.get("filesize_approx")
            if size and size > settings.max_download_bytes:
                raise BadInput(
                    f"that item is {size / 1e6:.0f} MB, over the {settings.max_download_mb:.0f} MB limit"
                )
            info = ydl.process_ie_result(info, download=True)
    except DownloadError as exc:
        text = " ".join(logger.errors) or str(exc)
        lowered = text.lower()
        if "larger than max-filesize" in lowered or "file is larger" in lowered:
            raise BadInput(
                f"that item is over the {settings.max_download_mb:.0f} MB limit"
            ) from exc
        if "http error 429" in lowered or (
            "http error 4" not in lowered
            and any(
                word in lowered
                for word in (
                    "timed out",
                    "temporarily",
                    "connection reset",
                    "connection refused",
                    "http error 5",
                )
            )
        ):
            raise TransientError(f"download failed: {text}") from exc
        raise BadInput(f"cannot download that link: {text}") from exc
    files = [p for p in dest.glob("input.*") if not p.name.endswith((".part", ".ytdl"))]
    if not files:
        # yt-dlp skips (rather than fails) files over max_filesize.
        raise BadInput(
            f"nothing was downloaded (over the {settings.max_download_mb:.0f} MB limit?)"
        )
    return max(files, key=lambda p: p.stat().st_size)


def resolve_source(
    source: str, workdir: Path, settings: Settings, progress: ProgressFn | None = None
) -> AudioInfo:
    """A URL or a local path, fetched if needed, validated as audio within the limits."""
    if is_url(source):
        path = fetch_url(source, workdir / "download", settings, progress)
    else:
        path = Path(source).expanduser()
    return probe_audio(path, settings.max_duration_s, settings.max_download_bytes)
