"""Alembic environment: runs on the connection the application hands over."""

from __future__ import annotations

from alembic import context

import storage.all_models  # noqa: F401  (registers every table on Base.metadata)
from storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through storage.db
    raise RuntimeError("run migrations through storage.db.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
