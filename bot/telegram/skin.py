"""The Telegram skin: turns updates into command-layer calls and renders the answers.

Everything a command *does* lives in :mod:`bot.commands`; this module only knows
Telegram: who is an admin of a chat, how to fetch an upload, how to edit a status
message, which results fit into a document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.commands.api import Command, CommandContext, CommandLayerAPI, Progress, Reply, ResultFile
from bot.commands.following import Following
from bot.commands.uploads import CommandUploads
from bot.telegram.limits import split_text, too_large_upload, upload_limit
from bot.telegram.status import StatusMessage, progress_line
from bot.telegram.uploads import PendingUploads, Upload, download, upload_of
from core.errors import BadInput
from core.settings import Settings

log = logging.getLogger("cratebot.telegram")

#: Inline-keyboard actions offered for an upload: (callback word, label, command name).
ACTIONS = (
    ("id", "Identify", "id"),
    ("stems", "Stems", "stems"),
    ("sections", "Sections", "sections"),
)
ADMIN_CACHE_S = 60.0
PHOTO_LIMIT = 10 * 1024 * 1024


class TelegramSkin:
    def __init__(
        self, settings: Settings, layer: CommandLayerAPI, *, edit_interval: float = 1.0
    ) -> None:
        self.settings = settings
        self.layer = layer
        self.edit_interval = edit_interval
        self.local_mode = bool(settings.telegram_local_mode)
        self.accepting = True
        self.pending = PendingUploads()
        self._prompts: dict[tuple[int, int], Upload] = {}
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}
        self._following: Following[None] = Following()
        self._admin_only = {spec.name for spec in layer.specs if spec.admin_only}

    # -- handlers (registered in frontend.py) ----------------------------------
    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None or message.from_user is None:
            return
        text = message.text
        word, _, addressee = text.split()[0].partition("@")
        if addressee and addressee.lower() != (context.bot.username or "").lower():
            return  # "/help@OtherBot" in a group is for another bot
        if word.lower() == "/start":
            text = "/help"
        # A command sent as a reply to an upload works on that upload.
        upload = upload_of(message.reply_to_message)
        await self._guarded(message, self._run_text(context.bot, message, text, upload))

    async def on_upload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        upload = upload_of(message)
        if message is None or upload is None:
            return
        refusal = self._size_refusal(upload)
        if refusal:
            await self._say(context.bot, message.chat_id, refusal, reply_to=message.message_id)
            return
        caption = (message.caption or "").strip()
        if caption.startswith("/"):
            await self._guarded(message, self._run_text(context.bot, message, caption, upload))
            return
        token = self.pending.add(upload)
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(label, callback_data=f"{word}:{token}")
                    for word, label, _ in ACTIONS
                ]
            ]
        )
        await context.bot.send_message(
            message.chat_id,
            f"What should I do with {upload.name}?",
            reply_markup=keyboard,
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        )

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        word, _, token = query.data.partition(":")
        action = next((a for a in ACTIONS if a[0] == word), None)
        upload = self.pending.get(token)
        if action is None or upload is None:
            await query.answer("This button has expired; send the file again.", show_alert=True)
            return
        await query.answer()
        keyboard_message = query.message
        if not isinstance(keyboard_message, Message):
            return
        bot = context.bot
        chat_id = keyboard_message.chat_id
        label = action[1]
        if action[2] == "sections":
            # Sections needs a tempo; ask for it in a reply to keep the upload attached.
            await self._quiet(keyboard_message.edit_text(f"Sections of {upload.name}"))
            prompt = await bot.send_message(
                chat_id,
                f"Sections of {upload.name}: reply with the BPM to select around, "
                "optionally with options, e.g. 124 or 124 delta=3 key=Am bars=8",
                reply_markup=ForceReply(selective=True, input_field_placeholder="124"),
                reply_parameters=ReplyParameters(
                    upload.message_id, allow_sending_without_reply=True
                ),
            )
            self._prompts[(chat_id, prompt.message_id)] = upload
            return
        await self._quiet(keyboard_message.edit_text(f"{label}: {upload.name}"))
        ctx_user = query.from_user
        await self._guarded(
            keyboard_message,
            self._run_upload(
                bot,
                chat_id,
                ctx_user.id,
                ctx_user.full_name,
                upload,
                Command(action[2]),
                reply_to=keyboard_message.message_id,
                chat_type=keyboard_message.chat.type,
            ),
        )

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text reply to a "reply with the BPM" prompt runs /sections on its upload."""
        message = update.effective_message
        if message is None or message.reply_to_message is None or message.text is None:
            return
        upload = self._prompts.pop((message.chat_id, message.reply_to_message.message_id), None)
        if upload is None:
            return
        words = message.text.strip()
        text = f"/sections {words}" if "bpm=" in words else f"/sections bpm={words}"
        await self._guarded(message, self._run_text(context.bot, message, text, upload))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed", exc_info=context.error)

    # -- running commands ------------------------------------------------------
    async def _guarded(self, message: Message, work: Any) -> None:
        """Run one command as a tracked task, so shutdown can let go of it."""
        if not self.accepting:
            work.close()
            await self._say(
                message.get_bot(),
                message.chat_id,
                "CrateBot is restarting; send that again in a minute.",
            )
            return
        with self._following.follow(None):
            await work

    async def _run_text(self, bot: Bot, message: Message, text: str, upload: Upload | None) -> None:
        user = message.from_user
        assert user is not None
        try:
            command: str | Command = self.layer.parse(text)
        except BadInput:
            command = text  # the layer answers with the usage line
        if upload is not None:
            await self._run_upload(
                bot,
                message.chat_id,
                user.id,
                user.full_name,
                upload,
                command,
                reply_to=message.message_id,
                chat_type=message.chat.type,
            )
            return
        ctx = await self._context(
            bot, message.chat_id, message.chat.type, user.id, user.full_name, command
        )
        await self._run(
            bot,
            message.chat_id,
            ctx,
            command,
            reply_to=message.message_id,
            user_message=message.message_id,
        )

    async def _run_upload(
        self,
        bot: Bot,
        chat_id: int,
        user_id: int,
        name: str,
        upload: Upload,
        command: str | Command,
        *,
        reply_to: int,
        chat_type: str,
    ) -> None:
        refusal = self._size_refusal(upload)
        if refusal:
            await self._say(bot, chat_id, refusal, reply_to=reply_to)
            return
        status = self._status(bot, chat_id, reply_to)
        await status.show(f"Fetching {upload.name} from Telegram...")
        ctx = await self._context(bot, chat_id, chat_type, user_id, name, command)
        uploads = CommandUploads(self.layer, ctx)
        try:
            await uploads.save(upload.name, lambda target: download(bot, upload, target))
        except BadInput as exc:
            await status.finish(str(exc))
            return
        ctx = uploads.context()
        if await self._run(bot, chat_id, ctx, command, reply_to=reply_to, status=status):
            uploads.done()

    async def _run(
        self,
        bot: Bot,
        chat_id: int,
        ctx: CommandContext,
        command: str | Command,
        *,
        reply_to: int,
        status: StatusMessage | None = None,
        user_message: int | None = None,
    ) -> bool:
        """Stream one command; True when its final reply was delivered."""
        status = status or self._status(bot, chat_id, reply_to)
        updates: AsyncIterator[Any] = self.layer.handle(ctx, command)
        try:
            async for item in updates:
                if isinstance(item, Progress):
                    await status.show(progress_line(item))
                elif isinstance(item, Reply):
                    await self._deliver(bot, chat_id, item, status, reply_to)
                    if item.sensitive_input and user_message is not None:
                        await self._quiet(bot.delete_message(chat_id, user_message))
                    return True
        except asyncio.CancelledError:
            # Shutting down: the job keeps running in the runner; say where to find it.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    status.finish(
                        (status.shown or "") + "\nCrateBot is restarting; the job continues. "
                        "Check /jobs later."
                    ),
                    3.0,
                )
            raise
        finally:
            await status.close()
            await updates.aclose()  # type: ignore[attr-defined]
        return False

    def _status(self, bot: Bot, chat_id: int, reply_to: int | None) -> StatusMessage:
        async def send(text: str) -> int:
            sent = await bot.send_message(
                chat_id,
                text,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to
                else None,
            )
            return sent.message_id

        async def edit(message_id: int, text: str) -> None:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)

        return StatusMessage(send, edit, self.edit_interval)

    # -- rendering -------------------------------------------------------------
    async def _deliver(
        self, bot: Bot, chat_id: int, reply: Reply, status: StatusMessage, reply_to: int
    ) -> None:
        text = reply.text
        if reply.title and not reply.error:
            text = f"{reply.title}\n{text}"
        links = [f"{link.label}: {link.url}" for link in reply.links]
        documents: list[ResultFile] = []
        limit = upload_limit(self.local_mode)
        for item in reply.files:
            if item.size_bytes <= limit:
                documents.append(item)
            else:
                links.append(
                    f"{item.name} ({item.size_bytes / 2**20:.1f} MB, too large for "
                    f"Telegram): {self._url_of(item)}"
                )
        if links:
            text = f"{text}\n\n" + "\n".join(links)
        chunks = split_text(text)
        await status.finish(chunks[0])
        for chunk in chunks[1:]:
            await self._say(bot, chat_id, chunk)
        for image in reply.images:
            with image.path.open("rb") as fh:
                if image.size_bytes <= PHOTO_LIMIT:
                    await bot.send_photo(chat_id, fh, filename=image.name)
                else:
                    await bot.send_document(chat_id, fh, filename=image.name)
        for item in documents:
            with item.path.open("rb") as fh:
                await bot.send_document(chat_id, fh, filename=item.name)

    def _url_of(self, item: ResultFile) -> str:
        if item.url:
            return item.url
        try:
            return self.layer.link_for(item.job_id, item.name)
        except Exception as exc:  # no link server configured: say where the file is
            log.warning("no download link for %s: %s", item.name, exc)
            return f"(no download link available; job {item.job_id})"

    # -- helpers ---------------------------------------------------------------
    def _size_refusal(self, upload: Upload) -> str | None:
        return too_large_upload(
            upload.name, upload.size, self.local_mode, self.settings.max_download_bytes
        )

    async def _context(
        self,
        bot: Bot,
        chat_id: int,
        chat_type: str,
        user_id: int,
        name: str | None,
        command: str | Command,
    ) -> CommandContext:
        needs_admin = isinstance(command, Command) and command.name in self._admin_only
        is_admin = await self._is_admin(bot, chat_id, chat_type, user_id) if needs_admin else False
        return CommandContext(
            platform="telegram",
            user_id=str(user_id),
            chat_id=str(chat_id),
            is_admin=is_admin,
            display_name=name,
        )

    async def _is_admin(self, bot: Bot, chat_id: int, chat_type: str, user_id: int) -> bool:
        if chat_type == ChatType.PRIVATE:
            return True  # a private chat is the user's own
        cached = self._admins.get(chat_id)
        if cached is None or time.monotonic() - cached[0] > ADMIN_CACHE_S:
            try:
                members = await bot.get_chat_administrators(chat_id)
            except TelegramError as exc:
                log.warning("getChatAdministrators(%s) failed: %s", chat_id, exc)
                return False
            cached = (time.monotonic(), frozenset(m.user.id for m in members))
            self._admins[chat_id] = cached
        return user_id in cached[1]

    async def _say(self, bot: Bot, chat_id: int, text: str, reply_to: int | None = None) -> None:
        for chunk in split_text(text):
            await bot.send_message(
                chat_id,
                chunk,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to
                else None,
            )

    @staticmethod
    async def _quiet(call: Any) -> None:
        """Best-effort cosmetic calls (deleting a secret, relabelling a keyboard)."""
        try:
            await call
        except TelegramError as exc:
            log.info("ignored Telegram error: %s", exc)

    async def abandon(self, timeout: float = 5.0) -> None:
        """Stop following running commands (their jobs go on in the runner)."""
        await self._following.abandon(timeout)
