"""Plain commands, rate limits and upload limits through the real Application."""

from __future__ import annotations

import asyncio

import pytest

from tests.telegram.fake_bot_api import FakeBotApi

CHAT = 5001  # a private chat: the user is its admin
USER = 5001


# PTB's own AIORateLimiter reads RetryAfter.retry_after, which PTB 22 marks as changing type.
@pytest.mark.filterwarnings("ignore:.*retry_after.*")
async def test_help_and_a_429_retried(telegram_bot, fake_api: FakeBotApi) -> None:
    await telegram_bot()
    fake_api.rate_limit_once("sendMessage", retry_after=1)
    fake_api.send_text(CHAT, USER, "/help")
    help_message = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if "CrateBot commands" in (m.text or "")],
        what="the help text",
    )
    assert len(help_message) == 1  # retried once, not duplicated
    assert ("sendMessage", 429) in fake_api.errors_served
    sends = fake_api.calls_of("sendMessage")
    assert len(sends) == 2 and sends[1].at - sends[0].at >= 1.0  # waited retry_after
    assert "/stems SOURCE" in help_message[0].text
    # The command menu is one word per command, as Telegram requires.
    menu = fake_api.calls_of("setMyCommands")[0].params["commands"]
    words = [c["command"] for c in menu]
    assert {"id", "stems", "sections", "bpm", "pi", "jobs", "cancel", "help"} <= set(words)
    assert len(words) == len(set(words))


async def test_bad_command_gets_the_usage(telegram_bot, fake_api: FakeBotApi) -> None:
    await telegram_bot()
    fake_api.send_text(CHAT, USER, "/bpm fast")
    reply = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if m.text], what="a reply"
    )
    assert "fast" in reply[0].text and "bpm" in reply[0].text.lower()
    fake_api.send_text(CHAT, USER, "/frobnicate")
    await fake_api.wait_for(
        lambda: any("unknown command" in (m.text or "") for m in fake_api.chat_messages(CHAT)),
        what="unknown command answer",
    )


async def test_too_large_upload_is_refused_clearly(telegram_bot, fake_api: FakeBotApi) -> None:
    await telegram_bot()
    big = fake_api.add_file(None, "long_mix.mp3", size=25 * 1024 * 1024)
    fake_api.send_audio(CHAT, USER, big)
    reply = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if m.text], what="the refusal"
    )
    text = reply[0].text
    assert "long_mix.mp3 is 25.0 MB" in text and "at most 20.0 MB" in text
    assert "link" in text and "CRATEBOT_TELEGRAM_LOCAL_MODE" in text
    assert reply[0].reply_markup is None  # no keyboard for a file we cannot fetch
    assert not fake_api.calls_of("getFile")


async def test_local_mode_offers_large_uploads(telegram_bot, fake_api: FakeBotApi) -> None:
    await telegram_bot(telegram_local_mode=True)
    big = fake_api.add_file(None, "long_mix.mp3", size=25 * 1024 * 1024)
    fake_api.send_audio(CHAT, USER, big)
    offer = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if m.reply_markup], what="keyboard"
    )
    labels = [b["text"] for b in offer[0].reply_markup["inline_keyboard"][0]]
    assert labels == ["Identify", "Stems", "Sections"]


async def test_commands_for_other_bots_are_ignored(telegram_bot, fake_api: FakeBotApi) -> None:
    await telegram_bot()
    fake_api.send_text(-100, USER, "/help@SomeOtherBot")
    fake_api.send_text(-100, USER, "/help@cratebot_test_bot")
    await fake_api.wait_for(lambda: fake_api.chat_messages(-100), what="the help")
    await asyncio.sleep(0.5)
    assert len(fake_api.chat_messages(-100)) == 1
