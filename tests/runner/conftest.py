"""Runner and storage tests run on both database backends: SQLite and PostgreSQL."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, home) -> str:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        # Set in the environment so worker and CLI subprocesses use the same database.
        monkeypatch.setenv("CRATEBOT_DATABASE_URL", url)
    return str(request.param)


@pytest.fixture
def settings(backend: str, home):
    from core.settings import load_settings

    s = load_settings(home=home)
    s.ensure_dirs()
    return s
