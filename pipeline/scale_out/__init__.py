"""Scale out: the Dask engine (engine.py: shards by customer, merge.py: the same bytes as one
process) and the bucket layout (repartition.py writes it, layout.py reads it)."""
