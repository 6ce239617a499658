"""Invoice stage: headers, lines, and the rules that tie them together."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandera.polars as pa
import polars as pl

MONEY = pl.Decimal(38, 4)
LINE_TYPES = ["flat", "usage", "minimum", "commitment", "discount", "one_time"]


def _is_rounded(column: str) -> pl.Expr:
    """The amount has no digits beyond its currency's minor unit (`digits` column)."""
    scaled = pl.col(column).cast(pl.Float64) * (10.0 ** pl.col("digits").cast(pl.Float64))
    return (scaled - scaled.round(0)).abs() < 1e-6


class Invoices(pa.DataFrameModel):
    invoice_id: str = pa.Field(unique=True, str_startswith="in_")
    invoice_number: str = pa.Field(nullable=True)
    status: str = pa.Field(isin=["draft", "issued", "credited"])
    customer_id: str
    contract_id: str
    currency: str = pa.Field(str_matches=r"^[A-Z]{3}$")
    period_start: dt.date
    period_end: dt.date
    issue_date: dt.date
    due_date: dt.date
    subtotal: MONEY
    discount_total: MONEY = pa.Field(ge=Decimal(0))
    tax_percent: pl.Decimal(12, 6) = pa.Field(ge=Decimal(0), le=Decimal(100))
    tax_note: str = pa.Field(isin=["", "exempt", "reverse_charge"])
    tax_total: MONEY
    total: MONEY
    digits: pl.Int32 = pa.Field(nullable=False, ge=0, le=4)

    class Config:
        unique = ["contract_id", "period_start"]

    @pa.dataframe_check
    def dates_are_ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("period_end") > pl.col("period_start"))
                                     & (pl.col("issue_date") == pl.col("period_end"))
                                     & (pl.col("due_date") >= pl.col("issue_date")))

    @pa.dataframe_check
    def total_is_subtotal_less_discount_plus_tax(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("total") == pl.col("subtotal") - pl.col("discount_total") + pl.col("tax_total"))

    @pa.dataframe_check
    def money_is_rounded(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_is_rounded("subtotal") & _is_rounded("discount_total")
                                     & _is_rounded("tax_total") & _is_rounded("total"))

    @pa.dataframe_check
    def exempt_and_reverse_charge_pay_no_tax(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("tax_note") == "") | (pl.col("tax_total") == 0))


class InvoiceLines(pa.DataFrameModel):
    invoice_id: str
    line_number: pl.Int32 = pa.Field(ge=1)
    line_type: str = pa.Field(isin=LINE_TYPES)
    charge_id: str = pa.Field(nullable=True)
    metric_id: str = pa.Field(nullable=True)
    group_key: str
    description: str
    quantity: pl.Decimal(38, 9)
    unit_price: pl.Decimal(38, 12) = pa.Field(nullable=True)
    amount: MONEY
    service_start: dt.date
    service_end: dt.date
    digits: pl.Int32 = pa.Field(nullable=False, ge=0, le=4)

    @pa.dataframe_check
    def numbers_are_unique_and_rising(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """An invoice's lines are together, their numbers rising: no number twice in an invoice. Checked
        in one pass with the invoice ids compared only to their neighbours' and, at each invoice's first
        line, among themselves (a unique check of (invoice_id, line_number) hashes 6M rows' ids: 1 s)."""
        first = (pl.col("invoice_id") != pl.col("invoice_id").shift(1)).fill_null(True)
        together = pl.col("invoice_id").filter(first).is_unique().all()
        return data.lazyframe.select((first | (pl.col("line_number") > pl.col("line_number").shift(1))) & together)

    @pa.dataframe_check
    def money_is_rounded(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_is_rounded("amount"))

    @pa.dataframe_check
    def line_kinds_are_consistent(cls, data: pa.PolarsData) -> pl.LazyFrame:
        t = pl.col("line_type")
        return data.lazyframe.select(
            pl.when(t == "discount").then(pl.col("amount") <= 0)
            .when(t.is_in(["minimum", "commitment"])).then((pl.col("amount") > 0) & (pl.col("quantity") == 1))
            .when(t == "usage").then(pl.col("metric_id").is_not_null() & pl.col("charge_id").is_not_null())
            .otherwise(pl.col("charge_id").is_not_null()))


class InvoiceTotals(pa.DataFrameModel):
    """Cross-table: each invoice equals the sum of its lines, numbered 1..n."""

    invoice_id: str
    subtotal: MONEY
    discount_total: MONEY
    lines_subtotal: MONEY = pa.Field(nullable=False)
    lines_discount: MONEY = pa.Field(nullable=False)
    lines_count: pl.UInt32 = pa.Field(ge=0)

    @pa.dataframe_check
    def lines_sum_to_header(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("lines_subtotal") == pl.col("subtotal"))
                                     & (pl.col("lines_discount") == pl.col("discount_total")))

    @pa.dataframe_check
    def lines_are_numbered_one_to_n(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """n line numbers, each >= 1 and none twice in an invoice (InvoiceLines), the largest n: 1..n."""
        return data.lazyframe.select(pl.col("max_line_number") == pl.col("lines_count"))
