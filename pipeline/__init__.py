"""usagebill: batch rating and invoicing for usage-based billing.

The package, top to bottom (imports run one way: a module imports only from its own layer or below;
tests/test_layout.py checks it):

    cli/        the command line, one module per group of `usagebill --help`
    analysis/   explain, terms over time                               (Analysis)
    month_end/  documents (PDF, UBL), accounting exports, payments     (Month end)
    ledger/     issue, nightly, reconcile, the ledger file              (Ledger)
    scale_out/  the Dask engine and the bucket layout                   (Scale out)
    billing/    the chain of a run: ingest -> meter -> rate -> invoice -> emit  (Billing)
    config/     the workspace: pricebook, customers, contracts, terms, settings
    rate/       the charge models and pricing rules, one small module each
    core/       errors, money and rounding, tax, fields, DuckDB, atomic files
"""

__version__ = "0.1.0"
