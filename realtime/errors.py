"""The one exception a command handler raises to refuse a message."""

from __future__ import annotations


class CommandError(Exception):
    """Turned into ``/error ADDRESS message``; the message is safe to send back."""
