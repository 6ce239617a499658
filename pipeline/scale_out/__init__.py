"""Scale out: the same run over a Dask cluster, the same bytes out.

    engine.py       --engine dask: the run cut into shards by customer, one task each
    merge.py        the shards' parts joined into the whole run's tables
    repartition.py  usagebill repartition: events rewritten bucketed by customer and day
    layout.py       the bucket layout read back: which files each shard reads
"""
