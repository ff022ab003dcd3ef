"""/token: a personal token for the HTTP API, sent in a private chat only."""

from __future__ import annotations

from bot.commands.api_token import run_token
from bot.commands.define import CommandDef

COMMAND = CommandDef(
    "token",
    "/token",
    "/token",
    "a personal token for the HTTP API (in a private chat with the bot)",
    order=105,
    run=run_token,
    private=True,  # Discord: an ephemeral reply, seen by the user alone
)
