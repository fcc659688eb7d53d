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
    op.create_table('reminder_policies',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('updated_at', _AWARE(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_reminder_policies_client_id_clients')),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_reminder_policies')),
    )
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('offset_days', sa.Integer(), nullable=False),
    sa.Column('tone', sa.String(length=20), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('pay_by', sa.Date(), nullable=True),
    sa.Column('fee_amount', _DECIMAL(), nullable=True),
    sa.Column('fee_currency', sa.String(length=3), nullable=True),
    sa.Column('fee_kind', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.Column('sent_at', _AWARE(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_reminders_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('invoice_id', 'step', name='uq_reminders_invoice_step'),
    )
    op.create_table('invoice_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('opened_at', _AWARE(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('resolved_at', _AWARE(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_disputes_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_disputes')),
    )
    op.create_index(op.f('ix_invoice_disputes_invoice_id'), 'invoice_disputes', ['invoice_id'], unique=False)
    op.create_table('reminder_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('since', _AWARE(timezone=True), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('resumed_at', _AWARE(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_reminder_pauses_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_pauses')),
    )
    op.create_index(op.f('ix_reminder_pauses_client_id'), 'reminder_pauses', ['client_id'], unique=False)
    # the reminder scan: the open invoices by due date (partial; covering on PostgreSQL)
    open_invoice = sa.text("status IN ('issued', 'partially_paid', 'sent', 'viewed')")
    op.create_index(
        'ix_invoices_reminder_scan', 'invoices', ['due_date'], unique=False,
        postgresql_include=['id', 'client_id', 'status', 'gross_total', 'amount_paid', 'currency'],
        postgresql_where=open_invoice, sqlite_where=open_invoice,
    )


def downgrade() -> None:
    op.drop_index('ix_invoices_reminder_scan', table_name='invoices')
    op.drop_index(op.f('ix_reminder_pauses_client_id'), table_name='reminder_pauses')
    op.drop_table('reminder_pauses')
    op.drop_index(op.f('ix_invoice_disputes_invoice_id'), table_name='invoice_disputes')
    op.drop_table('invoice_disputes')
    op.drop_table('reminders')
    op.drop_table('reminder_policies')
