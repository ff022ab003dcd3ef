"""analysis: stored track analyses (BPM, key, beats, segments, loudness)

Revision ID: 0003_analysis
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa

import storage.base


revision = '0003_analysis'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('track_analyses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=2048), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('bpm', sa.Float(), nullable=True),
    sa.Column('key', sa.String(length=8), nullable=True),
    sa.Column('camelot', sa.String(length=3), nullable=True),
    sa.Column('loudness_lufs', sa.Float(), nullable=True),
    sa.Column('analyzer', sa.String(length=64), nullable=False),
    sa.Column('structure', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_track_analyses'))
    )
    with op.batch_alter_table('track_analyses', schema=None) as batch_op:
        batch_op.create_index('uq_track_analyses_path', ['path'], unique=True)
        batch_op.create_index('ix_track_analyses_sha256', ['sha256'], unique=False)
        batch_op.create_index('ix_track_analyses_bpm', ['bpm'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('track_analyses', schema=None) as batch_op:
        batch_op.drop_index('ix_track_analyses_bpm')
        batch_op.drop_index('ix_track_analyses_sha256')
        batch_op.drop_index('uq_track_analyses_path')
    op.drop_table('track_analyses')
