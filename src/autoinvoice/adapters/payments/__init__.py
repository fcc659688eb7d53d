"""Payment providers: hosted checkouts and their webhooks, one module per provider, each
implementing ``PaymentProvider`` in :mod:`autoinvoice.services.payment_links`."""
