"""Accounting exports: issued invoices and credit notes as files an accounting system imports.

    config.py      accounting.yaml: accounts, items, tax codes, date format per system
    lines.py       exact quantity x price pairs, tax spread over lines
    files.py       one CSV file: documented header, formula-safe cells, split at a system's limit
    long_csv.py    `csv`: our own long format, one row per line with the header repeated
    xero.py        `xero`: Xero's sales invoice import template
    quickbooks.py  `quickbooks`: QuickBooks Online's invoice import
    netsuite.py    `netsuite`: NetSuite CSV import of Invoice and Credit Memo transactions
    allocations.py prepaid credit applied at issue: credit_allocations.csv, NetSuite's credit applications
    export.py      `usagebill export --format F`: the ledger's documents of a window, into one folder
"""
