"""payments: allocations across invoices, refunds and reversals, credit notes linked to invoices

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime
_DECIMAL = autoinvoice.adapters.db.types.ExactDecimal


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
