"""library: tracks of the local identification library, online recognizer cache

Revision ID: 0002_library
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa

import storage.base


revision = '0002_library'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('library_tracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('artist', sa.String(length=512), nullable=True),
    sa.Column('title', sa.String(length=512), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('hashes', sa.Integer(), nullable=False),
    sa.Column('added_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_tracks')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('library_tracks', schema=None) as batch_op:
        batch_op.create_index('ix_library_tracks_path', ['path'], unique=False)
        batch_op.create_index('uq_library_tracks_sha256', ['sha256'], unique=True)

    op.create_table('recognizer_cache',
    sa.Column('service', sa.String(length=32), nullable=False),
    sa.Column('window_hash', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service', 'window_hash', name=op.f('pk_recognizer_cache'))
    )


def downgrade() -> None:
    op.drop_table('recognizer_cache')
    with op.batch_alter_table('library_tracks', schema=None) as batch_op:
        batch_op.drop_index('uq_library_tracks_sha256')
        batch_op.drop_index('ix_library_tracks_path')

    op.drop_table('library_tracks')
