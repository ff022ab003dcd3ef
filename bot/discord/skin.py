"""The Discord skin: one slash-command invocation from deferral to delivered result.

Discord rules it follows: acknowledge (defer) within 3 s; the interaction token
edits the original response for 15 minutes, after which the command continues in
ordinary channel messages; files larger than the interaction's
``attachment_size_limit`` go out as download links.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import discord

from bot.commands.api import Command, CommandContext, CommandLayerAPI, Progress, Reply, ResultFile
from bot.commands.following import Following
from bot.commands.throttle import latest_every
from bot.commands.uploads import CommandUploads, Fetch
from bot.discord.render import Rendered, progress_line, render_reply, size_mb
from core.settings import Settings

log = logging.getLogger("cratebot.discord")

#: Interaction tokens live 15 minutes; stop using ours a little before that.
TOKEN_WINDOW_S = 14.5 * 60
EDIT_INTERVAL_S = 2.0


class InteractionOutput:
    """Where a command's messages go: the original response, then the channel."""

    def __init__(self, interaction: discord.Interaction, window_s: float) -> None:
        self.interaction = interaction
        self.deadline = time.monotonic() + window_s
        self.channel_message: discord.Message | None = None
        self.shown: str | None = None

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def _channel(self) -> Any:
        channel = self.interaction.channel
        if channel is None or not hasattr(channel, "send"):
            raise RuntimeError("the interaction's channel cannot take messages")
        return channel

    def _mention(self, text: str) -> str:
        return f"{self.interaction.user.mention} {text}"

    async def progress(self, text: str) -> None:
        if text == self.shown:
            return
        if not self.expired():
            await self.interaction.edit_original_response(content=text)
        elif self.channel_message is None:
            self.channel_message = await self._channel().send(
                self._mention(text), allowed_mentions=discord.AllowedMentions(users=True)
            )
        else:
            await self.channel_message.edit(content=self._mention(text))
        self.shown = text

    async def final(self, rendered: Rendered) -> None:
        files = rendered.discord_files()
        if not self.expired():
            await self.interaction.edit_original_response(
                content=rendered.content or None, embeds=rendered.embeds, attachments=files
            )
            for extra in rendered.more:
                await self.interaction.followup.send(extra)
            return
        channel = self._channel()
        await channel.send(
            self._mention(rendered.content),
            embeds=rendered.embeds,
            files=files,
            allowed_mentions=discord.AllowedMentions(users=True),
        )
        for extra in rendered.more:
            await channel.send(extra)


class DiscordSkin:
    def __init__(
        self,
        settings: Settings,
        layer: CommandLayerAPI,
        *,
        edit_interval: float = EDIT_INTERVAL_S,
        token_window_s: float = TOKEN_WINDOW_S,
    ) -> None:
        self.settings = settings
        self.layer = layer
        self.edit_interval = edit_interval
        self.token_window_s = token_window_s
        self.accepting = True
        self._following: Following[InteractionOutput] = Following()

    def context(self, interaction: discord.Interaction) -> CommandContext:
        user = interaction.user
        if interaction.guild_id is None:
            # A DM with the bot belongs to the user; Pi links there are theirs.
            chat_id, is_admin = f"dm:{user.id}", True
        else:
            chat_id = str(interaction.guild_id)
            is_admin = interaction.permissions.manage_guild
        roles: tuple[str, ...] = ()
        if isinstance(user, discord.Member):
            named = [r for r in user.roles if not r.is_default()]
            roles = tuple(str(r.id) for r in named) + tuple(r.name for r in named)
        return CommandContext(
            platform="discord",
            user_id=str(user.id),
            chat_id=chat_id,
            is_admin=is_admin,
            display_name=user.display_name,
            roles=roles,
        )

    async def run(
        self,
        interaction: discord.Interaction,
        command: Command,
        attachments: list[discord.Attachment | None] | None = None,
        ephemeral: bool = False,
    ) -> None:
        """Answer one slash command; returns when its final reply is delivered."""
        if not self.accepting:
            await interaction.response.send_message(
                "CrateBot is restarting; try again in a minute.", ephemeral=True
            )
            return
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        out = InteractionOutput(interaction, self.token_window_s)
        with self._following.follow(out):
            uploads = CommandUploads(self.layer, self.context(interaction))
            for attachment in attachments or []:
                if attachment is None:
                    continue
                if attachment.size > self.settings.max_download_bytes:
                    await out.final(
                        Rendered(
                            f"⚠️ {discord.utils.escape_markdown(attachment.filename)} is "
                            f"{size_mb(attachment.size)}; this bot accepts files up to "
                            f"{size_mb(self.settings.max_download_bytes)}."
                        )
                    )
                    return
                await uploads.save(attachment.filename, _saver(attachment))
            if await self._stream(interaction, uploads.context(), command, out):
                uploads.done()

    async def _stream(
        self,
        interaction: discord.Interaction,
        ctx: CommandContext,
        command: Command,
        out: InteractionOutput,
    ) -> bool:
        updates = latest_every(self.layer.handle(ctx, command), self.edit_interval)
        try:
            async for item in updates:
                if isinstance(item, Progress):
                    await out.progress(progress_line(item))
                elif isinstance(item, Reply):
                    limit = interaction.filesize_limit
                    await out.final(render_reply(item, limit, self._url_of))
                    return True
        finally:
            await updates.aclose()  # type: ignore[attr-defined]
        return False

    def _url_of(self, item: ResultFile) -> str:
        if item.url:
            return item.url
        return self.layer.link_for(item.job_id, item.name)

    async def abandon(self, timeout: float = 5.0) -> None:
        """Stop following running commands (their jobs go on in the runner)."""
        for out in await self._following.abandon(timeout):
            with contextlib.suppress(Exception):
                note = "CrateBot is restarting; the job continues. Check /jobs later."
                await asyncio.wait_for(out.progress(f"{out.shown or ''}\n{note}".strip()), 3.0)

    async def report_error(self, interaction: discord.Interaction, error: Exception) -> None:
        log.error("slash command failed", exc_info=error)
        text = "⚠️ Something went wrong on CrateBot's side; the error is logged."
        with contextlib.suppress(Exception):
            if interaction.response.is_done():
                await interaction.edit_original_response(content=text)
            else:
                await interaction.response.send_message(text, ephemeral=True)


def _saver(attachment: discord.Attachment) -> Fetch:
    async def fetch(target: Path) -> Path:
        await attachment.save(target)
        return target

    return fetch
