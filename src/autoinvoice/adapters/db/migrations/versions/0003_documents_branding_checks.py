"""documents: branding, Peppol ids, per-client document settings, check settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issuing_entities') as batch:
        batch.add_column(sa.Column('peppol_id', sa.String(length=150), nullable=True))
        batch.add_column(sa.Column('branding', sa.JSON(), nullable=False, server_default='{}'))
        batch.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('checks', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('invoice_lines') as batch:
        batch.add_column(sa.Column('line_group', sa.String(length=200), nullable=True))
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('peppol_id', sa.String(length=150), nullable=True))
        batch.add_column(sa.Column('documents', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('invoice_lines') as batch:
        batch.drop_column('line_group')
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('documents')
        batch.drop_column('peppol_id')
    with op.batch_alter_table('issuing_entities') as batch:
        batch.drop_column('checks')
        batch.drop_column('logo')
        batch.drop_column('branding')
        batch.drop_column('peppol_id')
