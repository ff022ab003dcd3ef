"""The newest Alembic revision of every migration branch, read from the files.

Kept apart from ``storage.db`` so that processes which only read the database
(``cratebot id`` on SQLite, see ``storage.library_reader``) can check that the schema is
current without importing SQLAlchemy (~9 MB of RSS) or Alembic (~10 MB).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@functools.cache
def heads_on_disk() -> frozenset[str]:
    """The newest revision of every migration branch, read from the files.

    Read by hand rather than through Alembic's ScriptDirectory: a job worker only needs to
    know that the schema is already current, and importing Alembic for that costs each
    worker process about 10 MB of its memory budget.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if (rev := _REVISION.search(text)) is not None:
            revisions.add(rev.group(1))
        if (down := _DOWN_REVISION.search(text)) is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - parents)
