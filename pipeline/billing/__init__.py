"""Billing: the chain of one run, ingest -> meter -> rate -> invoice -> emit.

ingest.py (discover, dedup, classify events), preflight.py (columns and warnings), scope.py (the
periods billed and the terms pricing them), meter.py (quantities per period), the charge models in
pipeline/rate/, invoice.py (lines, minimums, commitment, discount, tax), emit.py (Parquet and CSV),
run.py (the stages in order), types.py (RunArgs, Bill), preview.py, report/ (report.html).
"""
