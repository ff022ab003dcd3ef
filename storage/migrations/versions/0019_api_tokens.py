"""api_tokens (hashed HTTP API tokens) and job_shares (jobs an owner reached by dedupe)

Revision ID: 0019_api_tokens
Revises: 0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0019_api_tokens"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_api_tokens_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("uq_api_tokens_hash", ["token_hash"], unique=True)

    op.create_table(
        "job_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_shares_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_job_shares_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_shares")),
    )
    with op.batch_alter_table("job_shares", schema=None) as batch_op:
        batch_op.create_index("uq_job_shares_job_owner", ["job_id", "owner_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("job_shares", schema=None) as batch_op:
        batch_op.drop_index("uq_job_shares_job_owner")
    op.drop_table("job_shares")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_api_tokens_hash")
    op.drop_table("api_tokens")
