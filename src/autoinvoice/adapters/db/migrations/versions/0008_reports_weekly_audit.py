"""cash-flow reports and the weekly audit

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime
_DECIMAL = autoinvoice.adapters.db.types.ExactDecimal


_OPEN = "status IN ('issued', 'partially_paid', 'sent', 'viewed')"
_PAID = "status = 'paid' AND kind = 'invoice'"
_LIVE_CREDIT = "kind != 'payment' AND reversed_at IS NULL"


def upgrade() -> None:
    op.create_table('weekly_audits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=10), nullable=False),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_audits')),
    sa.UniqueConstraint('week', name=op.f('uq_weekly_audits_week')),
    )
    op.create_index(
        'ix_invoices_open_due',
        'invoices',
        ['due_date', 'currency', 'entity_id', 'client_id', 'kind', 'gross_total', 'amount_paid'],
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )
    op.create_index(
        'ix_invoices_paid_history',
        'invoices',
        ['client_id', 'due_date', 'paid_at', 'id', 'amount_paid'],
        postgresql_where=sa.text(_PAID),
        sqlite_where=sa.text(_PAID),
    )
    op.create_index(
        'ix_invoices_issue_date',
        'invoices',
        ['issue_date', 'kind', 'status', 'currency', 'entity_id', 'gross_total'],
    )
    op.create_index(
        'ix_allocations_live_credits',
        'payment_allocations',
        ['invoice_id'],
        postgresql_where=sa.text(_LIVE_CREDIT),
        sqlite_where=sa.text(_LIVE_CREDIT),
    )


def downgrade() -> None:
    op.drop_index('ix_allocations_live_credits', table_name='payment_allocations')
    op.drop_index('ix_invoices_issue_date', table_name='invoices')
    op.drop_index('ix_invoices_paid_history', table_name='invoices')
    op.drop_index('ix_invoices_open_due', table_name='invoices')
    op.drop_table('weekly_audits')
