"""API: stored answers for Idempotency-Key replays (issue 7)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 14:30:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime


def upgrade() -> None:
    op.create_table('api_idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caller', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('request', sa.String(length=300), nullable=False),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.Column('expires_at', _AWARE(timezone=True), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('completed_at', _AWARE(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_keys')),
    sa.UniqueConstraint('caller', 'key', name=op.f('uq_api_idempotency_keys_caller')),
    )
    op.create_index(
        op.f('ix_api_idempotency_keys_expires_at'),
        'api_idempotency_keys',
        ['expires_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_api_idempotency_keys_expires_at'), table_name='api_idempotency_keys')
    op.drop_table('api_idempotency_keys')
