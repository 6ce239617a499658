"""The shared rules at the bottom: errors, exact money and rounding, tax, typed fields, DuckDB
connections and queries (sql/), atomic file publication. Imports nothing else of the package."""
