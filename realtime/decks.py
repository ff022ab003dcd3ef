"""Deck names: DJs call decks A-D, our own vocabulary numbers them 0-3; both work everywhere.

Validation is strict so a sloppy or hostile sender cannot hit a deck by accident: a
deck is an integer (an OSC int, or a float with no fraction such as TouchOSC sends),
a string of digits, or a letter, any case. ``True``, ``1.5``, ``"1.5"`` and ``"AB"``
are refused.
"""

from __future__ import annotations

import math
from typing import Any


class DeckIdError(ValueError):
    """The message is safe to send back to the caller."""


def letter(index: int) -> str:
    return chr(ord("A") + index)


def _describe(n_decks: int) -> str:
    return f"0-{n_decks - 1} or {letter(0)}-{letter(n_decks - 1)}"


def parse_deck(value: Any, n_decks: int) -> int:
    """The deck index ``value`` names, or :class:`DeckIdError`."""
    index: int | None = None
    if isinstance(value, bool):
        index = None
    elif isinstance(value, int):
        index = value
    elif isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            index = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 3:
            index = int(text)
        elif len(text) == 1 and text.isascii() and text.isalpha():
            index = ord(text.upper()) - ord("A")
    if index is None or not 0 <= index < n_decks:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise DeckIdError(f"deck must be {_describe(n_decks)}, got {shown}")
    return index


def looks_like_deck_letter(value: Any) -> bool:
    return isinstance(value, str) and len(value.strip()) == 1 and value.strip().isalpha()
