"""File helpers storage owns: content hashes and atomic placement (no database here)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path

# Word characters (any script), digits and a few harmless signs; everything else, path
# separators included, becomes "_".
_UNSAFE_NAME = re.compile(r"[^\w.()+ -]+")


def safe_name(name: str, fallback: str, max_len: int = 120, *, spaces: bool = True) -> str:
    """A plain file name from anything a user or a link supplies.

    No folders (only the last path part is kept, "\\" counts as a separator), only
    letters, digits, spaces and ``_ . - + ( )``, no leading or trailing dots or spaces
    (so never ".." nor a hidden file), at most ``max_len`` characters with the end
    kept (the extension survives); ``fallback`` when nothing is left. ``spaces=False``
    turns spaces into "_" too (names on disk that shells handle without quoting).
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not spaces:
        base = base.replace(" ", "_")
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" ._")
    return cleaned[-max_len:].strip(" ._") or fallback


def inside(root: Path, name: str) -> Path:
    """``root / name`` with symlinks resolved, only if it lies strictly inside ``root``.

    The one containment check for results and work folders: raises ValueError for
    names that climb out ("../x", an absolute path, a symlink pointing elsewhere).
    """
    base = root.resolve()
    target = (base / name).resolve()
    if target == base or not target.is_relative_to(base):
        raise ValueError(f"{name!r} is not inside {root}")
    return target


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
