"""Billing: the chain of one run, ingest -> meter -> rate -> invoice -> emit (usagebill run).

    ingest.py     event files -> a status per event (dedup, quarantine), folded in one pass
    preflight.py  metric columns checked before billing; the run's warnings
    scope.py      what a run bills: contracts, periods, the terms in force, lookup tables
    periods.py    billing calendars: anchors, stubs, proration, local midnights
    shards.py     which customers one shard rates (a local run is shard-less)
    meter.py      folded events -> quantities per period, metric and group
    assemble.py   the run's invoices, lines and usage as columns: line structure, order, numbers and
                  sums in DuckDB (sql/assemble_*.sql), each rule of pipeline/rate/ called once per
                  distinct set of figures
    invoice.py    one invoice as Python objects, by the same rules (explain and preview read it)
    emit.py       Arrow tables, Parquet and formula-safe CSV
    daily.py      billed events per UTC day and metric (daily_usage.parquet)
    report/       report.html: summaries, inline SVG charts, what changed since an earlier run
    types.py      RunArgs, Bill, Stopwatch: the run's shared types (a leaf module)
    run.py        the stages in order: validated, bill, finished, write_outputs
    preview.py    the open period so far, as a draft (usagebill preview)
"""
