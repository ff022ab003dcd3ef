"""Error types shared by every pipeline.

The runner decides what to do from the type: ``BadInput`` fails the job at once
(retrying cannot help), ``TransientError`` is retried with backoff, anything else
fails the job with its message.
"""


class CrateBotError(Exception):
    """Base class; ``str(error)`` is shown to the user as is."""


class BadInput(CrateBotError):
    """The user's input cannot be processed (not audio, too long, private URL, ...)."""


class TransientError(CrateBotError):
    """A temporary failure (network, rate limit) worth retrying later."""


class NotAvailable(CrateBotError):
    """A feature whose pipeline or dependency is not installed here."""
