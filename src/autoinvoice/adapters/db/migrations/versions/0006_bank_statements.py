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
    op.create_table('bank_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('imported_at', _AWARE(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    )
    op.create_table('bank_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('tx_key', sa.String(length=200), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('amount', _DECIMAL(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('counterparty_name', sa.String(length=200), nullable=True),
    sa.Column('counterparty_iban', sa.String(length=64), nullable=True),
    sa.Column('remittance', sa.Text(), nullable=False),
    sa.Column('structured_ref', sa.String(length=40), nullable=True),
    sa.Column('bank_ref', sa.String(length=100), nullable=True),
    sa.Column('end_to_end_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('confidence', _DECIMAL(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', _AWARE(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_bank_transactions_client_id_clients')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_bank_transactions_payment_id_payments')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_transactions_statement_id_bank_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_transactions')),
    sa.UniqueConstraint('account', 'tx_key', name='uq_bank_transactions_account_key'),
    )
    op.create_index(op.f('ix_bank_transactions_status'), 'bank_transactions', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_bank_transactions_status'), table_name='bank_transactions')
    op.drop_table('bank_transactions')
    op.drop_table('bank_statements')
