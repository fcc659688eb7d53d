"""delivery and the client side: recipients, sandbox, payment sessions, provider events,
intake links, outgoing webhooks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:40:00
"""

from alembic import op
import sqlalchemy as sa
import autoinvoice.adapters.db.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_AWARE = autoinvoice.adapters.db.types.AwareDateTime
_DECIMAL = autoinvoice.adapters.db.types.ExactDecimal


def upgrade() -> None:
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('cc', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('bcc', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('po_required', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('payment_method', sa.String(length=30), nullable=True))
        batch.add_column(sa.Column('portal_token', sa.String(length=64), nullable=True))
    op.create_index('ix_clients_portal_token', 'clients', ['portal_token'], unique=True)
    with op.batch_alter_table('issuing_entities') as batch:
        batch.add_column(sa.Column('sandbox_to', sa.String(length=254), nullable=True))
    op.create_table('payment_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('session_id', sa.String(length=255), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('amount', _DECIMAL(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_sessions_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_sessions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_sessions_idempotency_key')),
    sa.UniqueConstraint('provider', 'session_id', name=op.f('uq_payment_sessions_provider')),
    )
    op.create_index(op.f('ix_payment_sessions_invoice_id'), 'payment_sessions', ['invoice_id'], unique=False)
    op.create_table('provider_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('received_at', _AWARE(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_provider_events_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_provider_events_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_events')),
    sa.UniqueConstraint('provider', 'event_id', name=op.f('uq_provider_events_provider')),
    )
    op.create_table('intake_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.Column('expires_at', _AWARE(timezone=True), nullable=False),
    sa.Column('submitted_at', _AWARE(timezone=True), nullable=True),
    sa.Column('revoked_at', _AWARE(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_intake_links_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_intake_links_token_hash')),
    )
    op.create_index(op.f('ix_intake_links_client_id'), 'intake_links', ['client_id'], unique=False)
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions')),
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', _AWARE(timezone=True), nullable=False),
    sa.Column('delivered_at', _AWARE(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('subscription_id', 'message_id', name=op.f('uq_webhook_deliveries_subscription_id')),
    )


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
    op.drop_index(op.f('ix_intake_links_client_id'), table_name='intake_links')
    op.drop_table('intake_links')
    op.drop_table('provider_events')
    op.drop_index(op.f('ix_payment_sessions_invoice_id'), table_name='payment_sessions')
    op.drop_table('payment_sessions')
    with op.batch_alter_table('issuing_entities') as batch:
        batch.drop_column('sandbox_to')
    op.drop_index('ix_clients_portal_token', table_name='clients')
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('portal_token')
        batch.drop_column('payment_method')
        batch.drop_column('po_required')
        batch.drop_column('bcc')
        batch.drop_column('cc')
