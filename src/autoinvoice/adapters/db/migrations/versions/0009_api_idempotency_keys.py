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
    pass


def downgrade() -> None:
    pass
