"""Month end: what leaves the ledger after issue, for customers and for accounting.

    documents/   PDF and EN 16931 UBL documents (usagebill render)
    accounting/  exports for Xero, QuickBooks, NetSuite and our CSV (usagebill export --format)
    payments/    payments import and allocation, accounts receivable aging (payments, ar)
    send.py      issued documents emailed to customers over SMTP, each once (usagebill send)
    tasks.py     --then: render, export and send run after a committed batch, recorded, retried
"""
