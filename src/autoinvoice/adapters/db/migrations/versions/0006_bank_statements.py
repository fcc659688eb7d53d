"""bank statements: imported statements and transactions, matches and the review list

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime
_DECIMAL = autoinvoice.adapters.db.types.ExactDecimal


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
