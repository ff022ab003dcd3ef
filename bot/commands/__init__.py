"""The command layer every chat front-end builds on; the interface is in ``api.py``."""

from bot.commands.api import (
    Command,
    CommandContext,
    CommandSpec,
    Link,
    OptionSpec,
    Progress,
    Reply,
    ResultFile,
    TrackRow,
    Update,
)

__all__ = [
    "Command",
    "CommandContext",
    "CommandLayer",
    "CommandSpec",
    "Link",
    "OptionSpec",
    "Progress",
    "Reply",
    "ResultFile",
    "TrackRow",
    "Update",
]


def __getattr__(name: str) -> object:
    # The layer pulls in the runner and storage; the plain types above stay light.
    if name == "CommandLayer":
        from bot.commands.layer import CommandLayer

        return CommandLayer
    raise AttributeError(name)
