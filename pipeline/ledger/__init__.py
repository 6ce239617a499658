"""The ledger: issued invoices, credit notes, the runs that made them, and the number sequences.

An embedded DuckDB file (WORKSPACE/ledger.duckdb by default) and the record of truth. Modules:

    lock.py       one writer at a time: an OS lock file held around read-rate-write
    store.py      opening the file, its schema (sql/ledger/schema.sql), one transaction per batch
    chains.py     what a billed period holds: its live invoice and the net of its documents
    documents.py  numbering, invoices, credit notes and adjustments of one batch
    export.py     documents to Parquet/CSV, re-exports and listings
    check.py      the integrity rules (sql/ledger/check.sql, and credit_check.sql)
    credits.py    prepaid credit: the draw-down at issue, credits apply, credits refund
    credit_grants.py  `credits import`: grants from a CSV file
    credit_report.py  `credits`: what is left per grant and per customer; what a preview would draw

The commands that use it live in pipeline/issue.py (issue, nightly) and pipeline/reconcile.py.
"""
