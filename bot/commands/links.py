"""Signed, expiring download links: ``/dl/<job id>/<name>?exp=<unix>&sig=<hex>``.

The signature is HMAC-SHA256 over the job id, file name and expiry. Hand-written on
``hmac`` (a dozen lines) rather than pulling in itsdangerous for one use.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import PurePosixPath
from urllib.parse import quote

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class LinkError(ValueError):
    """A link that is malformed, tampered with or expired (message says which)."""


def check_name(job_id: str, name: str) -> None:
    """Refuse ids and names that could point outside a job's results folder."""
    if not JOB_ID.match(job_id):
        raise LinkError(f"bad job id {job_id!r}")
    parts = PurePosixPath(name).parts
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(p in ("..", ".") for p in parts)
    ):
        raise LinkError(f"bad file name {name!r}")


def _mac(key: bytes, job_id: str, name: str, expires: int) -> str:
    message = f"{job_id}\n{name}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_path(key: bytes, job_id: str, name: str, ttl_s: float, now: float | None = None) -> str:
    """The path and query (``/dl/...``) of a link valid for ``ttl_s`` seconds."""
    check_name(job_id, name)
    expires = int((time.time() if now is None else now) + ttl_s)
    sig = _mac(key, job_id, name, expires)
    return f"/dl/{job_id}/{quote(name)}?exp={expires}&sig={sig}"


def verify(
    key: bytes, job_id: str, name: str, exp: str | None, sig: str | None, now: float | None = None
) -> None:
    """Raise :class:`LinkError` unless the link is intact and not expired."""
    check_name(job_id, name)
    _check_signature(key, job_id, name, exp, sig, now)


def _check_signature(
    key: bytes, job_id: str, name: str, exp: str | None, sig: str | None, now: float | None
) -> None:
    if not exp or not sig:
        raise LinkError("the link is incomplete")
    try:
        expires = int(exp)
    except ValueError:
        raise LinkError("the link is malformed") from None
    if not hmac.compare_digest(_mac(key, job_id, name, expires), sig):
        raise LinkError("the link signature is invalid")
    if (time.time() if now is None else now) > expires:
        raise LinkError("the link has expired")


# A file name can never contain NUL (check_name refuses it), so a page signature can
# never be replayed as a download signature or the other way round.
_PAGE = "\x00page"


def sign_page(key: bytes, job_id: str, ttl_s: float, now: float | None = None) -> str:
    """The path and query (``/p/...``) of a job's result page, valid for ``ttl_s`` seconds."""
    if not JOB_ID.match(job_id):
        raise LinkError(f"bad job id {job_id!r}")
    expires = int((time.time() if now is None else now) + ttl_s)
    return f"/p/{job_id}?exp={expires}&sig={_mac(key, job_id, _PAGE, expires)}"


def verify_page(
    key: bytes, job_id: str, exp: str | None, sig: str | None, now: float | None = None
) -> None:
    """Raise :class:`LinkError` unless the page link is intact and not expired."""
    if not JOB_ID.match(job_id):
        raise LinkError(f"bad job id {job_id!r}")
    _check_signature(key, job_id, _PAGE, exp, sig, now)
