"""Turn a URL or a local path into a validated local audio file.

URLs go through yt-dlp (any site it supports, plain media URLs included). Hosts
that resolve to private, loopback, link-local or otherwise non-public addresses
are refused unless ``allow_private_urls`` is set, so a chat user cannot make the
bot probe the venue's own network.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.audio.ffmpeg import ffmpeg_exe
from core.audio.netguard import ConnectionPolicy, guarded_connections, parse_allowlist
from core.audio.probe import AudioInfo, _fmt, probe_audio
from core.errors import BadInput, CrateBotError, TransientError
from core.settings import Settings

ProgressFn = Callable[[float, str], None]


def is_url(source: str) -> bool:
    try:
        return urlsplit(source.strip()).scheme.lower() in {"http", "https"}
    except ValueError:
        return False


def _parse(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a link, or ``BadInput`` naming what is wrong with it."""
    if any(ord(ch) < 32 or ch == "\x7f" for ch in url.strip()):
        raise BadInput("that link contains control characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise BadInput(f"that link is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise BadInput(f"only http(s) links are accepted, not {scheme or 'this'}")
    if not host:
        raise BadInput("that link has no host name")
    if port == 0:
        raise BadInput("that link is malformed (port 0)")
    return scheme, host, port


def check_url(
    url: str, allow_private: bool, allowlist: frozenset[tuple[str, int | None]] = frozenset()
) -> None:
    """Refuse URLs that are malformed or whose host is not a public address.

    This is the early, friendly check; :mod:`core.audio.netguard` enforces the same
    policy on every connection the download then makes.
    """
    scheme, host, port = _parse(url)
    if allow_private:
        return
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise BadInput(f"{host}: the host name does not resolve") from None
    policy = ConnectionPolicy(allowed=allowlist)
    for info in infos:
        address = str(info[4][0])
        if not policy.permits(address, port):
            where = f"{host} is" if host == address else f"{host} resolves to {address},"
            raise BadInput(f"{where} a private/internal address; such links are refused")


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


class _StopDownload(Exception):
    """Raised from the progress hook to end a download that crossed a cap."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Caps:
    """Size and time caps checked on every block yt-dlp writes.

    yt-dlp's own ``max_filesize`` only compares a stated Content-Length, so a stream
    without one (or an endless radio stream) would run on; the hook sees every block.
    """

    def __init__(self, settings: Settings, progress: ProgressFn | None) -> None:
        self.max_bytes = settings.max_download_bytes
        self.max_mb = settings.max_download_mb
        # An endless stream arrives at its own pace: once the download has run for as
        # long as the longest accepted input, it cannot end within the limit.
        self.max_seconds = settings.max_duration_s
        self.started = time.monotonic()
        self.progress = progress
        self.peak_bytes = 0

    def hook(self, status: dict[str, Any]) -> None:
        if status.get("status") != "downloading":
            return
        done = int(status.get("downloaded_bytes") or 0)
        self.peak_bytes = max(self.peak_bytes, done)
        if done > self.max_bytes:
            raise _StopDownload(f"that item is over the {self.max_mb:.0f} MB limit")
        if time.monotonic() - self.started > self.max_seconds:
            raise _StopDownload(
                f"that link streams without end (still going after {_fmt(self.max_seconds)}, "
                "the longest accepted input)"
            )
        if self.progress is None:
            return
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if total:
            self.progress(
                min(done / total, 1.0), f"downloading {done / 1e6:.1f}/{total / 1e6:.1f} MB"
            )
        else:
            self.progress(0.0, f"downloading {done / 1e6:.1f} MB")


# Only the protocols whose every request goes through yt-dlp's own HTTP layer (and so
# through the connection guard): no ffmpeg/rtmpdump/external downloaders.
_NATIVE_PROTOCOLS = "^(https?|m3u8_native|http_dash_segments)$"
_FORMAT = f"bestaudio[protocol~='{_NATIVE_PROTOCOLS}']/best[protocol~='{_NATIVE_PROTOCOLS}']"
BLOCK_BYTES = 64 * 1024


def _ydl_options(settings: Settings, dest: Path, logger: _Logger, caps: _Caps) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "outtmpl": str(dest / "input.%(ext)s"),
        "noplaylist": True,
        "playlist_items": "1",
        "max_filesize": settings.max_download_bytes,
        "ffmpeg_location": ffmpeg_exe(),
        "logger": logger,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "progress_hooks": [caps.hook],
        "socket_timeout": 30,
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "overwrites": True,
        "cachedir": False,
        # Fixed, small blocks: the caps are checked once per block, so a block is the
        # most that can arrive past a cap.
        "buffersize": BLOCK_BYTES,
        "noresizebuffer": True,
        "http_chunk_size": None,
        # HLS/DASH fragments fetched by yt-dlp itself, one at a time, in this thread.
        "hls_prefer_native": True,
        "concurrent_fragment_downloads": 1,
        "external_downloader": {},
        "fixup": "never",
        "enable_file_urls": False,
    }


def _make_ydl(options: dict[str, Any]) -> Any:
    import yt_dlp

    class GuardedYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
        """Only the ``requests``-based handler: it speaks http(s) alone, so a redirect to
        ``file://``, ``ftp://`` or ``data:`` fails instead of being followed."""

        def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
            chosen = [h for h in handlers if getattr(h, "RH_KEY", "") == "Requests"]
            return super().build_request_director(chosen or list(handlers), preferences)

    return GuardedYoutubeDL(options)


def _classify(text: str, settings: Settings) -> CrateBotError:
    lowered = text.lower()
    if "larger than max-filesize" in lowered or "file is larger" in lowered:
        return BadInput(f"that item is over the {settings.max_download_mb:.0f} MB limit")
    if "requested format is not available" in lowered:
        return BadInput("that link offers no audio that can be fetched over http(s)")
    if "unsupported url" in lowered:
        return BadInput("that link is not a page or file with audio that can be fetched")
    if "no connection adapters" in lowered or "unsupported url scheme" in lowered:
        return BadInput("that link redirects to something other than http(s); refused")
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
                "name or service not known",
                "temporary failure in name resolution",
            )
        )
    ):
        return TransientError(f"download failed: {_short_text(text)}")
    return BadInput(f"cannot download that link: {_short_text(text)}")


def _short_text(text: str) -> str:
    text = " ".join(text.replace("ERROR:", "").split())
    return text if len(text) <= 300 else text[:297] + "..."


def _run_download(url: str, settings: Settings, options: dict[str, Any], caps: _Caps) -> None:
    from yt_dlp.utils import DownloadError

    with _make_ydl(options) as ydl:
        info = ydl.extract_info(url, download=False, process=False)
        if info is None:
            raise BadInput("nothing to download at that link")
        if info.get("_type") in {"playlist", "multi_video"}:
            raise BadInput("that link is a playlist; send one track or mix at a time")
        if info.get("is_live") or info.get("live_status") in {"is_live", "is_upcoming"}:
            raise BadInput("that link is a live stream; send a recording instead")
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
        try:
            ydl.process_ie_result(info, download=True)
        except DownloadError as exc:
            cause = exc.exc_info[1] if exc.exc_info else None
            if isinstance(cause, _StopDownload):
                raise BadInput(cause.message) from None
            raise


def fetch_url(url: str, dest: Path, settings: Settings, progress: ProgressFn | None = None) -> Path:
    """Download ``url`` into folder ``dest`` and return the file's path.

    Every connection the download makes is held to the private-address policy, caps
    are checked on every block, and nothing is left in ``dest`` when it fails.
    """
    from yt_dlp.utils import DownloadError

    allowlist = parse_allowlist(settings.private_url_allowlist)
    check_url(url, settings.allow_private_urls, allowlist)
    dest.mkdir(parents=True, exist_ok=True)
    logger = _Logger()
    caps = _Caps(settings, progress)
    options = _ydl_options(settings, dest, logger, caps)
    policy = ConnectionPolicy(allowed=allowlist)
    guard = (
        contextlib.nullcontext(policy)
        if settings.allow_private_urls
        else guarded_connections(policy)
    )
    try:
        try:
            with guard:
                _run_download(url, settings, options, caps)
        except _StopDownload as exc:
            raise BadInput(exc.message) from None
        except DownloadError as exc:
            if policy.refused:
                raise BadInput(_inward_message(policy)) from None
            raise _classify(" ".join(logger.errors) or str(exc), settings) from None
        except CrateBotError:
            raise
        except Exception as exc:  # yt-dlp lets some errors of its extractors escape
            if policy.refused:
                raise BadInput(_inward_message(policy)) from None
            detail = str(exc).lower()
            if "connection adapters" in detail or "scheme" in detail:
                raise BadInput(
                    "that link redirects to something other than http(s); refused"
                ) from None
            raise BadInput(f"cannot download that link ({type(exc).__name__})") from exc
        if policy.refused:
            raise BadInput(_inward_message(policy))
        files = [p for p in dest.glob("input.*") if not p.name.endswith((".part", ".ytdl"))]
        if not files:
            # yt-dlp skips (rather than fails) files over max_filesize.
            raise BadInput(
                f"nothing was downloaded (over the {settings.max_download_mb:.0f} MB limit?)"
            )
        found = max(files, key=lambda p: p.stat().st_size)
        if found.stat().st_size > settings.max_download_bytes:
            raise BadInput(f"that item is over the {settings.max_download_mb:.0f} MB limit")
        return found
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _inward_message(policy: ConnectionPolicy) -> str:
    return (
        f"that link leads to a private/internal address ({policy.refused[0]}); "
        "such links are refused"
    )


def resolve_source(
    source: str, workdir: Path, settings: Settings, progress: ProgressFn | None = None
) -> AudioInfo:
    """A URL or a local path, fetched if needed, validated as audio within the limits."""
    if is_url(source):
        path = fetch_url(source, workdir / "download", settings, progress)
    else:
        path = local_path(source)
    return probe_audio(path, settings.max_duration_s, settings.max_download_bytes)


def local_path(source: str) -> Path:
    """A local path as typed (``~`` expanded); ``BadInput`` when it cannot be one."""
    if "\x00" in source:
        raise BadInput("that file name contains a NUL character")
    if "://" in source or is_url(source):
        _parse(source)  # raises: a malformed link, or a scheme other than http(s)
    try:
        return Path(source).expanduser()
    except RuntimeError:
        user = source[1:].split("/", 1)[0]
        raise BadInput(f"{source.split('/', 1)[0]}: no such user ({user}) for '~'") from None
