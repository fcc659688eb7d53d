"""payments: allocations across invoices, refunds and reversals, credit notes linked to invoices

Only new tables: the existing ``payments.invoice_id`` / ``applied`` columns stay (the first
invoice a payment went to and how much of it went to invoices), so nothing that reads them
breaks and SQLite needs no table rebuild. Each existing payment with an applied amount gets
its one allocation row, and each existing credit row its movement, so that from this revision
on ``invoices.amount_paid`` equals the sum of the invoice's live allocations.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:00:00
"""

from decimal import Decimal

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
    op.create_table('payment_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.Column('amount', _DECIMAL(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.Column('reversed_at', _AWARE(timezone=True), nullable=True),
    sa.Column('reversal_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_payment_allocations_client_id_clients')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['invoices.id'], name=op.f('fk_payment_allocations_credit_note_id_invoices')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_allocations_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_allocations_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocations')),
    )
    op.create_index(op.f('ix_payment_allocations_client_id'), 'payment_allocations', ['client_id'], unique=False)
    op.create_index(op.f('ix_payment_allocations_invoice_id'), 'payment_allocations', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_payment_allocations_payment_id'), 'payment_allocations', ['payment_id'], unique=False)
    op.create_table('payment_reversals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('reversed_at', _AWARE(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_reversals_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_reversals')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_payment_reversals_payment_id')),
    )
    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('amount', _DECIMAL(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=30), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('refunded_at', _AWARE(timezone=True), nullable=False),
    sa.Column('recorded_at', _AWARE(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_refunds_client_id_clients')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_refunds_idempotency_key')),
    )
    op.create_index(op.f('ix_refunds_client_id'), 'refunds', ['client_id'], unique=False)
    op.create_table('credit_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['invoices.id'], name=op.f('fk_credit_notes_id_invoices')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_notes_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes')),
    )
    op.create_index(op.f('ix_credit_notes_invoice_id'), 'credit_notes', ['invoice_id'], unique=False)
    op.create_table('client_credit_moves',
    sa.Column('credit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('allocation_id', sa.Integer(), nullable=True),
    sa.Column('refund_id', sa.Integer(), nullable=True),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['allocation_id'], ['payment_allocations.id'], name=op.f('fk_client_credit_moves_allocation_id_payment_allocations')),
    sa.ForeignKeyConstraint(['credit_id'], ['client_credits.id'], name=op.f('fk_client_credit_moves_credit_id_client_credits')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['invoices.id'], name=op.f('fk_client_credit_moves_credit_note_id_invoices')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_client_credit_moves_refund_id_refunds')),
    sa.PrimaryKeyConstraint('credit_id', name=op.f('pk_client_credit_moves')),
    )
    _backfill()


def _backfill() -> None:
    """One allocation per existing payment with an applied amount; one movement per credit."""
    conn = op.get_bind()
    payments = sa.table(
        'payments',
        sa.column('id', sa.Integer()),
        sa.column('client_id', sa.Integer()),
        sa.column('invoice_id', sa.Integer()),
        sa.column('applied', _DECIMAL()),
        sa.column('currency', sa.String()),
        sa.column('recorded_at', _AWARE()),
    )
    allocations = sa.table(
        'payment_allocations',
        sa.column('invoice_id', sa.Integer()),
        sa.column('client_id', sa.Integer()),
        sa.column('kind', sa.String()),
        sa.column('payment_id', sa.Integer()),
        sa.column('amount', _DECIMAL()),
        sa.column('currency', sa.String()),
        sa.column('created_at', _AWARE()),
    )
    rows = [
        dict(
            invoice_id=p.invoice_id,
            client_id=p.client_id,
            kind='payment',
            payment_id=p.id,
            amount=p.applied,
            currency=p.currency,
            created_at=p.recorded_at,
        )
        for p in conn.execute(sa.select(payments).where(payments.c.invoice_id.is_not(None)))
        if p.applied > Decimal(0)
    ]
    if rows:
        conn.execute(sa.insert(allocations), rows)
    conn.execute(
        sa.text(
            "INSERT INTO client_credit_moves (credit_id, kind) "
            "SELECT id, 'overpayment' FROM client_credits"
        )
    )


def downgrade() -> None:
    op.drop_table('client_credit_moves')
    op.drop_index(op.f('ix_credit_notes_invoice_id'), table_name='credit_notes')
    op.drop_table('credit_notes')
    op.drop_index(op.f('ix_refunds_client_id'), table_name='refunds')
    op.drop_table('refunds')
    op.drop_table('payment_reversals')
    op.drop_index(op.f('ix_payment_allocations_payment_id'), table_name='payment_allocations')
    op.drop_index(op.f('ix_payment_allocations_invoice_id'), table_name='payment_allocations')
    op.drop_index(op.f('ix_payment_allocations_client_id'), table_name='payment_allocations')
    op.drop_table('payment_allocations')
