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
    # email templates edited in the web app: one row per saved version (services/user_templates.py)
    op.create_table('user_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('text_body', sa.Text(), nullable=True),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('saved_by', sa.String(length=300), nullable=False),
    sa.Column('saved_at', _AWARE(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_templates')),
    sa.UniqueConstraint('name', 'version', name='uq_user_templates_name_version'),
    )


def downgrade() -> None:
    op.drop_table('user_templates')
