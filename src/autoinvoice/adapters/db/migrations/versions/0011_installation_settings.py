"""settings stored in the database: SMTP, taxes, payment terms (issue 7)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 14:30:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
