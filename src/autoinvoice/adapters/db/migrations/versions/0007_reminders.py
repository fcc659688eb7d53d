"""reminders: dunning policies, reminder steps sent, disputes, client pauses, late fees

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime
_DECIMAL = autoinvoice.adapters.db.types.ExactDecimal


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
