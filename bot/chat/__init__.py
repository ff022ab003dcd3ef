"""``cratebot chat``: the command layer in a terminal, with no tokens and no network."""
