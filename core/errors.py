"""Error types shared by every pipeline, and the one wording of an unexpected failure.

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


def new_error_id() -> str:
    """A short id that ties what the user was told to the trace in the log."""
    import secrets

    return secrets.token_hex(4)


def unexpected_error_message(error_id: str) -> str:
    """What a user sees for a failure nobody foresaw (the trace goes to the log)."""
    return f"something went wrong on our side (error id {error_id}); it has been logged"
