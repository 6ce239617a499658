"""Events stage: every event read ends in exactly one place; quarantine rows say why and where from."""
from __future__ import annotations

import pandera.polars as pa
import polars as pl

from pipeline.billing.ingest import QUARANTINE_REASONS, STATUSES


class EventCounts(pa.DataFrameModel):
    """manifest counts: non-negative, and they add up to the events read."""

    read: int = pa.Field(ge=0)
    billed: int = pa.Field(ge=0)
    duplicate: int = pa.Field(ge=0)
    invalid: int = pa.Field(ge=0)
    unknown_customer: int = pa.Field(ge=0)
    no_active_contract: int = pa.Field(ge=0)
    unmetered: int = pa.Field(ge=0)
    outside_window: int = pa.Field(ge=0)

    @pa.dataframe_check
    def counts_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("read") == pl.sum_horizontal(list(STATUSES)))


class Quarantine(pa.DataFrameModel):
    """One row per quarantined event: a contract reason and the file and row it came from."""

    reason: str = pa.Field(isin=list(QUARANTINE_REASONS))
    source_file: str = pa.Field(str_length={"min_value": 1})
    source_row: int = pa.Field(ge=0)

    class Config:
        unique = ["source_file", "source_row"]
