"""scale-out: worker heartbeats, job dispatch marks, one active job per dedupe key

Revision ID: 0013_scaleout
Revises: 0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0013_scaleout"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = sa.text("state IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.String(length=512), nullable=False),
        sa.Column("started_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("dispatched_at", storage.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "uq_jobs_active_dedupe",
        "jobs",
        ["dedupe_key"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_jobs_active_dedupe", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("dispatched_at")
    op.drop_table("workers")
