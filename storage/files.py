"""File helpers storage owns: content hashes and atomic placement (no database here)."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's content, read in chunks (inputs can be hours of audio)."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def atomic_move(src: Path, dest: Path) -> None:
    """Place ``src`` at ``dest`` so readers see either nothing or the whole file.

    Copy to a temporary name in the destination folder, fsync, then rename: a
    rename within one folder is atomic, a copy across file systems is not.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        try:
            os.link(src, tmp)  # same file system: no copy at all
        except OSError:
            shutil.copyfile(src, tmp)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
