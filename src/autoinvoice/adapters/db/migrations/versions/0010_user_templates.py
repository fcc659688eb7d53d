"""web app: user-edited templates (issue 7)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 14:30:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
