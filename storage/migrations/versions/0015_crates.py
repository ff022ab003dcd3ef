"""crates: chats' crates of library tracks; library_tracks.in_library

Revision ID: 0015_crates
Revises: 0002_library
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

import storage.base


revision = '0015_crates'
down_revision = '0002_library'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('library_tracks', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('in_library', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table('crate_tracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crate', sa.String(length=200), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=True),
    sa.Column('added_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['track_id'], ['library_tracks.id'], name=op.f('fk_crate_tracks_track_id_library_tracks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crate_tracks'))
    )
    with op.batch_alter_table('crate_tracks', schema=None) as batch_op:
        batch_op.create_index('uq_crate_tracks_crate_track', ['crate', 'track_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_crate_tracks_track_id'), ['track_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('crate_tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crate_tracks_track_id'))
        batch_op.drop_index('uq_crate_tracks_crate_track')
    op.drop_table('crate_tracks')
    with op.batch_alter_table('library_tracks', schema=None) as batch_op:
        batch_op.drop_column('in_library')
