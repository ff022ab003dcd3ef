"""A command layer :class:`Reply` as Discord message parts: content, embeds, files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import discord
from discord.utils import escape_markdown

from bot.commands.api import Progress, Reply, ResultFile
from bot.commands.render import split_lines

CONTENT_LIMIT = 2000
EMBED_LIMIT = 4096
MAX_FILES = 10  # attachments per message
BAR_CELLS = 12
COLOUR_OK = discord.Colour.teal()
COLOUR_ERROR = discord.Colour.red()


@dataclass
class Rendered:
    content: str
    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[ResultFile] = field(default_factory=list)  # to attach
    more: list[str] = field(default_factory=list)  # further messages (long text)

    def discord_files(self) -> list[discord.File]:
        return [discord.File(item.path, filename=item.name) for item in self.files]


def progress_line(update: Progress) -> str:
    pct = max(0.0, min(1.0, update.fraction))
    filled = round(pct * BAR_CELLS)
    bar = "█" * filled + "░" * (BAR_CELLS - filled)
    head = f"**{update.kind}** `{update.job_id[:8]}`"
    text = escape_markdown(update.text or update.state)
    if update.state == "queued":
        line = f"{head} · queued" + (f" · {text}" if text != "queued" else "")
    else:
        line = f"{head} · {text}\n`{bar}` {round(pct * 100)}%"
    if update.reused:
        line += "\n(an equal job was already running; following that one)"
    return line


def chunks(text: str, limit: int) -> list[str]:
    """Split at line breaks into pieces of at most ``limit`` characters."""
    return split_lines(text, limit) or [""]


def size_mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def render_reply(reply: Reply, attach_limit: int, url_of: Callable[[ResultFile], str]) -> Rendered:
    """Files within ``attach_limit`` (bytes, per file) are attached; larger ones linked."""
    attach: list[ResultFile] = []
    link_lines = [f"{escape_markdown(link.label)}: <{link.url}>" for link in reply.links]

    def place(item: ResultFile) -> bool:
        if item.size_bytes <= attach_limit and len(attach) < MAX_FILES:
            attach.append(item)
            return True
        link_lines.append(
            f"{escape_markdown(item.name)} ({size_mb(item.size_bytes)}, "
            f"larger than this server's {size_mb(attach_limit)} upload limit): "
            f"<{url_of(item)}>"
        )
        return False

    body = escape_markdown(reply.text)
    if reply.tracks or reply.images:
        embed = discord.Embed(
            title=(reply.title or "Result")[:256], colour=COLOUR_ERROR if reply.error else COLOUR_OK
        )
        parts = chunks(body, EMBED_LIMIT)
        embed.description = parts[0]
        if reply.job_id:
            embed.set_footer(text=f"job {reply.job_id}")
        image = next(iter(reply.images), None)
        if image is not None and place(image):
            embed.set_image(url=f"attachment://{image.name}")
        for extra in reply.images[1:]:
            place(extra)
        for item in reply.files:
            place(item)
        content = "\n".join(link_lines)
        more = parts[1:]
        if len(content) > CONTENT_LIMIT:
            more = chunks(content, CONTENT_LIMIT)[1:] + more
            content = chunks(content, CONTENT_LIMIT)[0]
        return Rendered(content, [embed], attach, more)
    for item in (*reply.files, *reply.images):
        place(item)
    head = (
        f"⚠️ {body}"
        if reply.error
        else (f"**{escape_markdown(reply.title)}**\n{body}" if reply.title else body)
    )
    text = "\n".join([head, *link_lines]) if link_lines else head
    parts = chunks(text, CONTENT_LIMIT)
    return Rendered(parts[0], [], attach, parts[1:])
