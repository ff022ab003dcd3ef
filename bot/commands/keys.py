"""Keys derived from ``CRATEBOT_SECRET``: one for Pi tokens at rest, one for download links.

Without ``CRATEBOT_SECRET`` a random secret is created once in
``$CRATEBOT_HOME/secret.key`` (mode 0600), so the terminal chat works with no
configuration and links signed by one process verify in another sharing the home.
Each use gets its own HKDF-derived key, so a leaked link key says nothing about the
token key.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import Settings

SECRET_FILE = "secret.key"


def master_secret(settings: Settings) -> bytes:
    if settings.secret is not None and settings.secret.get_secret_value():
        return settings.secret.get_secret_value().encode()
    path = Path(settings.home) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty; delete it or set CRATEBOT_SECRET")
    return value.encode()


def derive(settings: Settings, purpose: str, length: int = 32) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"cratebot", info=purpose.encode()
    ).derive(master_secret(settings))


def token_cipher(settings: Settings) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive(settings, "pi-token-encryption")))


def link_key(settings: Settings) -> bytes:
    return derive(settings, "download-link-signing")
