"""Telegram Bot API size limits and the texts that explain them."""

from __future__ import annotations

from bot.commands.render import split_lines

MB = 1024 * 1024
#: getFile refuses larger files on the public Bot API server.
CLOUD_DOWNLOAD_LIMIT = 20 * MB
#: sendDocument refuses larger uploads on the public Bot API server.
CLOUD_UPLOAD_LIMIT = 50 * MB
#: A local Bot API server (``--local``) handles files up to 2000 MB both ways.
LOCAL_FILE_LIMIT = 2000 * MB
#: Longest text of one message.
MESSAGE_LIMIT = 4096


def download_limit(local_mode: bool) -> int:
    return LOCAL_FILE_LIMIT if local_mode else CLOUD_DOWNLOAD_LIMIT


def upload_limit(local_mode: bool) -> int:
    return LOCAL_FILE_LIMIT if local_mode else CLOUD_UPLOAD_LIMIT


def megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


def too_large_upload(name: str, size: int, local_mode: bool, max_bytes: int) -> str | None:
    """Why ``name`` cannot be fetched from Telegram, or None when it can."""
    if size > download_limit(local_mode):
        return (
            f"{name} is {megabytes(size)}; Telegram lets bots download files of at most "
            f"{megabytes(download_limit(local_mode))}. Upload it somewhere and send the "
            "link instead (for example /id LINK or /stems LINK), or run CrateBot with a "
            "local Bot API server (CRATEBOT_TELEGRAM_LOCAL_MODE=1)."
        )
    if size > max_bytes:
        return f"{name} is {megabytes(size)}; this bot accepts files up to {megabytes(max_bytes)}."
    return None


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at line breaks into chunks Telegram accepts (hard-cut overlong lines)."""
    return split_lines(text, limit) or ["(empty)"]
