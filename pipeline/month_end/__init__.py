"""Month end: what leaves the ledger after issue: documents/ (PDF, UBL e-invoices),
accounting/ (exports for Xero, QuickBooks, NetSuite, our CSV), payments/ (import, aging)."""
