"""Files users send to the bot: what we know before downloading, and the download."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, Message
from telegram.error import BadRequest

from core.errors import BadInput
from storage.files import safe_name


@dataclass(frozen=True)
class Upload:
    """An audio file or document seen in a chat (not downloaded yet)."""

    chat_id: int
    user_id: int
    message_id: int
    file_id: str
    unique_id: str
    name: str
    size: int  # 0 when Telegram did not say


def upload_of(message: Message | None) -> Upload | None:
    """The audio/voice/document/video a message carries, if any."""
    if message is None or message.from_user is None:
        return None
    media = message.audio or message.voice or message.document or message.video
    if media is None:
        return None
    name = getattr(media, "file_name", None) or f"{media.file_unique_id}.ogg"
    return Upload(
        chat_id=message.chat_id,
        user_id=message.from_user.id,
        message_id=message.message_id,
        file_id=media.file_id,
        unique_id=media.file_unique_id,
        name=upload_name(name),
        size=int(media.file_size or 0),
    )


def upload_name(name: str) -> str:
    """A plain file name (no folders, no odd characters), keeping the extension."""
    return safe_name(name, "upload.bin")


async def download(bot: Bot, upload: Upload, target: Path) -> Path:
    """Fetch the file via getFile to ``target`` (a fresh path in its own folder)."""
    try:
        tg_file = await bot.get_file(upload.file_id)
    except BadRequest as exc:
        if "too big" in str(exc).lower():
            raise BadInput(
                f"{upload.name} is larger than Telegram lets bots download "
                "(20 MB). Send a link to it instead."
            ) from exc
        raise BadInput(f"Telegram would not hand out {upload.name}: {exc.message}") from exc
    return await tg_file.download_to_drive(target)


class PendingUploads:
    """Uploads waiting for a button press, by a short token (callback data is 64 bytes max).

    In memory on purpose: a keyboard from before a restart answers "send it again",
    which is cheaper than persisting file ids nobody may ever press.
    """

    def __init__(self, capacity: int = 512, ttl_s: float = 24 * 3600) -> None:
        self._items: OrderedDict[str, tuple[float, Upload]] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl_s

    def add(self, upload: Upload) -> str:
        token = secrets.token_urlsafe(8)
        self._items[token] = (time.monotonic(), upload)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return token

    def get(self, token: str) -> Upload | None:
        item = self._items.get(token)
        if item is None or time.monotonic() - item[0] > self._ttl:
            self._items.pop(token, None)
            return None
        return item[1]

    def pop(self, token: str) -> Upload | None:
        upload = self.get(token)
        self._items.pop(token, None)
        return upload
