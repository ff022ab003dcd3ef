"""pi_links: the venue Pi each chat controls (token encrypted)

Revision ID: 0004_pi_links
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0004_pi_links"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pi_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("token_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("linked_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pi_links")),
    )
    with op.batch_alter_table("pi_links", schema=None) as batch_op:
        batch_op.create_index("uq_pi_links_platform_chat", ["platform", "chat_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("pi_links", schema=None) as batch_op:
        batch_op.drop_index("uq_pi_links_platform_chat")
    op.drop_table("pi_links")
