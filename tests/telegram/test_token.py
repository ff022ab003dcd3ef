"""``/token`` through the real Telegram front-end: private chats only, and the token works."""

from __future__ import annotations

import re

from storage.api_tokens import TokenStore
from tests.telegram.fake_bot_api import FakeBotApi

USER = 7001
GROUP = -100700


async def test_token_in_a_private_chat_only(telegram_bot, fake_api: FakeBotApi) -> None:
    layer = await telegram_bot()
    fake_api.send_text(GROUP, USER, "/token")
    refusal = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(GROUP) if m.text], what="the refusal"
    )
    assert "private chat" in refusal[0].text and "cbt_" not in refusal[0].text

    fake_api.send_text(USER, USER, "/token")  # a private chat's id is the user's id
    reply = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(USER) if "cbt_" in (m.text or "")],
        what="the token",
    )
    token = re.search(r"^(cbt_\S+)$", reply[0].text, re.MULTILINE)
    assert token is not None, reply[0].text
    owner = await TokenStore(layer.db).verify(token.group(1))
    assert owner is not None and owner.key == f"telegram:{USER}"
    assert "Bearer" in reply[0].text and "/api/v1/docs" in reply[0].text
