"""Chats' crates: tracks a Discord server, Telegram chat or the terminal adds from chat.

Each crate entry is fingerprinted into the shared index (so ``/id`` in that chat
finds it beside the operator's library) and analysed (BPM, key, sections), and its
audio is kept under ``$CRATEBOT_HOME/crates/`` for ``/sections crate`` and ``/next``.
"""

from __future__ import annotations


def crate_key(platform: str, chat_id: str) -> str:
    """The crate a chat owns: one per Discord server, Telegram chat, and the terminal."""
    return f"{platform}:{chat_id}"
