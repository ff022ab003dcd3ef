"""``cratebot tokens`` and the token store: hashed at rest, owners named as in chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.api_tokens import ApiTokenRow, TokenStore, hash_token, parse_owner
from storage.db import open_database
from tests.web.api_server import cli


def test_create_list_revoke(home: Path) -> None:
    out = cli(home, "tokens", "create", "--owner", "telegram:42", "--name", "my script")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("cbt_") and " " not in token and len(token) > 40
    second = cli(home, "tokens", "create", "--owner", "Discord:99").stdout.splitlines()[-1]
    assert second != token

    rows = json.loads(cli(home, "tokens", "list", "--json").stdout)
    assert [(r["id"], r["owner"], r["name"]) for r in rows] == [
        (1, "telegram:42", "my script"),
        (2, "discord:99", ""),
    ]
    assert all(r["revoked_at"] is None and token not in json.dumps(r) for r in rows)
    table = cli(home, "tokens", "list").stdout
    assert "telegram:42" in table and "my script" in table and token not in table

    assert cli(home, "tokens", "revoke", "1").stdout.strip() == "token 1 revoked"
    assert cli(home, "tokens", "revoke", "1").stdout.strip() == "token 1 already revoked"
    missing = cli(home, "tokens", "revoke", "7")
    assert missing.returncode == 1 and "no token 7" in missing.stderr
    assert json.loads(cli(home, "tokens", "list", "--json").stdout)[0]["revoked_at"]


@pytest.mark.parametrize("owner", ["42", "telegram:", ":42", "tele gram:1", "x" * 40 + ":1"])
def test_owner_must_be_platform_colon_id(home: Path, owner: str) -> None:
    out = cli(home, "tokens", "create", "--owner", owner)
    assert out.returncode == 2 and "is not PLATFORM:ID" in out.stderr
    assert "Traceback" not in out.stderr


def test_parse_owner_matches_the_command_layer() -> None:
    # CommandLayer names an owner by (ctx.platform, ctx.user_id); ids keep their case.
    assert parse_owner("telegram:42") == ("telegram", "42")
    assert parse_owner(" Discord:AbC ") == ("discord", "AbC")
    assert parse_owner("terminal:dj:1") == ("terminal", "dj:1")


async def test_tokens_are_stored_hashed_and_act_for_the_chat_owner(home: Path) -> None:
    from storage.jobs_repo import JobRepository

    db = await open_database(f"sqlite+aiosqlite:///{home / 'db.sqlite'}")
    try:
        chat_owner = await JobRepository(db).owner_id("telegram", "42", "dj")
        store = TokenStore(db)
        token_id, token = await store.create("telegram", "42", "x")
        async with db.session() as s:
            row = await s.scalar(select(ApiTokenRow).where(ApiTokenRow.id == token_id))
        assert row is not None and row.token_hash == hash_token(token)
        assert token not in (row.token_hash, row.hint, row.name) and len(row.hint) == 10
        found = await store.verify(token)
        assert found is not None and found.owner_id == chat_owner and found.key == "telegram:42"
        assert await store.verify(token + "x") is None
        assert await store.verify("not-even-the-prefix") is None
        assert await store.revoke(token_id) and await store.verify(token) is None
    finally:
        await db.dispose()


def test_migration_matches_the_models(tmp_path: Path) -> None:
    """0019 creates exactly what storage/api_tokens.py declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import storage.all_models  # noqa: F401
    from storage.base import Base
    from storage.db import migrated_sync_engine

    engine = migrated_sync_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if "api_tokens" in repr(d) or "job_shares" in repr(d)]
    assert ours == []
    engine.dispose()
