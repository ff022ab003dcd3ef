"""Where a job's audio comes from: a link, an uploaded file, or (terminal only) a path."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bot.commands.api import CommandContext
from core.audio import probe_audio
from core.audio.fetch import check_url, is_url, local_path
from core.audio.netguard import parse_allowlist
from core.audio.probe import check_local_file
from core.errors import BadInput
from core.settings import Settings

URL_CHECK_TIMEOUT_S = 5.0


async def _check_link(url: str, settings: Settings) -> None:
    # Refuse private addresses before queueing; the job checks again when it fetches.
    # A slow or failing DNS lookup is left to the job, which retries network trouble.
    allowlist = parse_allowlist(settings.private_url_allowlist)
    with contextlib.suppress(TimeoutError, OSError):
        await asyncio.wait_for(
            asyncio.to_thread(check_url, url, settings.allow_private_urls, allowlist),
            URL_CHECK_TIMEOUT_S,
        )


async def _check_file(path: Path, settings: Settings) -> None:
    await asyncio.to_thread(probe_audio, path, settings.max_duration_s, settings.max_download_bytes)


async def resolve(
    ctx: CommandContext,
    given: list[str],
    settings: Settings,
    *,
    many: bool,
    usage: str,
    folders: bool = False,
) -> list[str]:
    """Checked sources as job params: links as given, files as absolute paths."""
    out: list[str] = []
    for source in given:
        source = source.strip()
        if is_url(source) or source.lower().startswith(("http://", "https://")):
            await _check_link(source, settings)  # malformed links are refused here
            out.append(source)
        elif "://" in source:
            raise BadInput(f"only http and https links are accepted, not {source!r}")
        elif not ctx.allow_local_paths:
            raise BadInput(f"{source!r} is not a link: send an http(s) link or attach a file")
        else:
            typed = local_path(source)
            try:
                path = typed.resolve()
                is_dir, is_file = path.is_dir(), path.is_file()
            except (OSError, RuntimeError):  # a symlink loop, a name too long, ...
                check_local_file(typed)  # raises the specific reason
                raise
            if folders and is_dir:
                out.append(str(path))
                continue
            if not is_file:
                raise BadInput(f"no such file: {source}")
            await _check_file(path, settings)
            out.append(str(path))
    if not out:
        for attachment in ctx.attachments:
            path = Path(attachment).resolve()
            await _check_file(path, settings)
            out.append(str(path))
    if not out:
        raise BadInput(f"send a link or attach an audio file; usage: {usage}")
    if not many and len(out) > 1:
        if given:
            raise BadInput(f"one source at a time; usage: {usage}")
        out = out[:1]
    return out
