"""Usage stage: one metered quantity per contract, period, charge and group."""
from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl


class Usage(pa.DataFrameModel):
    invoice_id: str = pa.Field(str_startswith="in_")
    contract_id: str
    customer_id: str
    period_start: dt.date
    period_end: dt.date
    charge_id: str
    metric_id: str
    group_key: str = pa.Field(nullable=False)
    quantity: pl.Decimal(38, 9) = pa.Field(nullable=False)
    events: int = pa.Field(ge=0)

    class Config:
        unique = ["invoice_id", "charge_id", "group_key"]

    @pa.dataframe_check
    def period_is_ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("period_end") > pl.col("period_start"))
