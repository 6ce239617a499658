"""The shared rules at the bottom; imports nothing else of the package.

    errors.py   the error root (BillingError) and its kinds; ProblemList (every problem of a file at once)
    money.py    exact decimals, rounding half away from zero to a currency's minor unit, formatting
    tax.py      tax rules: rates by country and region, reverse charge, tax id checks (python-stdnum)
    fields.py   typed fields of a YAML mapping, each problem named by its place
    db.py       DuckDB connections (threads, memory limit) and the queries of sql/, one per file
    io.py       fingerprints, atomic output folders, fsync, the system's words for an OS error
    storage.py  events in S3-compatible object storage (s3fs on DuckDB; ETag and size fingerprints)
    gcpause.py  the cyclic garbage collector paused while a run builds its many small objects
"""
