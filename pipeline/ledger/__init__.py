"""The ledger: issued invoices, credit notes, the runs that made them, and the number sequences.

An embedded DuckDB file (WORKSPACE/ledger.duckdb by default) and the record of truth. Modules:

    lock.py       one writer at a time: an OS lock file held around read-rate-write
    store.py      opening the file, its schema (sql/ledger/schema.sql), one transaction per batch
    chains.py     what a billed period holds: its live invoice and the net of its documents
    documents.py  numbering, invoices, credit notes and adjustments of one batch
    export.py     documents to Parquet/CSV, re-exports and listings
    tables.py     the Arrow schemas of the ledger's document tables
    check.py      the integrity rules (sql/ledger/check.sql, and credit_check.sql)
    credits.py    prepaid credit: the draw-down at issue, credits apply, credits refund
    credit_grants.py  `credits import`: grants from a CSV file
    import_file.py    the CSV files the ledger imports (payments, grants), read and checked alike
    credit_report.py  `credits`: what is left per grant and per customer; what a preview would draw
    payments.py   the payments tables and balances (imported by pipeline/month_end/payments/)
    closing.py    when a period is closed (end instant + grace <= as-of)
    issue.py      issue and nightly: rate, number, record, publish
    reconcile.py  re-rate issued periods, compare, adjust
"""
