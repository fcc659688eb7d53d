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
    op.create_table('installation_settings',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', _AWARE(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_installation_settings')),
    )


def downgrade() -> None:
    op.drop_table('installation_settings')
