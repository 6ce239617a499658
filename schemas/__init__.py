"""Pandera models at each stage boundary: events (counts and quarantine), usage, lines, invoices.

They check values, not only names and types, and the cross-table rules that make
an invoice trustworthy (total = lines + tax, lines numbered 1..n, money rounded to
the currency's minor unit). A failure here is a bug in the pipeline, never the
user's input: the run stops before writing anything.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

import pandera.polars as pa
import polars as pl

from pipeline.billing.types import Bill
from pipeline.core.errors import CheckError

from .events import EventCounts, Quarantine
from .invoices import InvoiceLines, Invoices, InvoiceTotals
from .usage import Usage

__all__ = ["EventCounts", "Quarantine", "Usage", "InvoiceLines", "Invoices", "InvoiceTotals", "validate_bill",
           "check"]


def check(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> pl.DataFrame:
    """Validate every row (lazy: all failures at once); raise CheckError naming the model and the failures."""
    try:
        return model.validate(frame, lazy=True)
    except (pa.errors.SchemaErrors, pa.errors.SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        detail = cases.head(10).to_dicts() if isinstance(cases, pl.DataFrame) else str(exc)[:2000]
        raise CheckError(f"internal check {model.__name__} failed (a bug in usagebill; please report it "
                         f"with the workspace): {detail}") from None


def _with_digits(frame: pl.DataFrame, digits: dict[str, int]) -> pl.DataFrame:
    mapping = pl.DataFrame({"currency": list(digits), "digits": list(digits.values())},
                           schema={"currency": pl.Utf8, "digits": pl.Int32})
    return frame.join(mapping, on="currency", how="left")


def invoice_totals(invoices: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """One row per invoice with the sums of its lines next to its header fields."""
    discount = pl.col("line_type") == "discount"
    # grouped by each run of one invoice's lines (InvoiceLines holds each invoice's lines together):
    # the run numbers rise, so a lazy query groups them as sorted slices, with no hash table (at 1M
    # contracts 0.4 s and 0.1 GB, where hashing them took 1.4 s and 2.5 GB); lines of one invoice apart
    # would give it two rows, which the join repeats and the sums then fail
    sums = lines.lazy().with_columns(run_=pl.col("invoice_id").rle_id().set_sorted()).group_by("run_").agg(
        pl.col("invoice_id").first(),
        lines_subtotal=pl.when(discount).then(0).otherwise(pl.col("amount")).sum(),
        lines_discount=-pl.when(discount).then(pl.col("amount")).otherwise(0).sum(),
        lines_count=pl.len(),
        max_line_number=pl.col("line_number").max(),
    ).drop("run_").collect()
    # an invoice can have no lines (a plan of grouped usage charges only, and no usage): its sums are 0
    return invoices.join(sums, on="invoice_id", how="left").with_columns(
        pl.col("lines_subtotal", "lines_discount").fill_null(pl.col("subtotal") * 0),
        pl.col("lines_count", "max_line_number").fill_null(0))


def _check_invoices(bill: Bill) -> None:
    invoices = _with_digits(pl.from_arrow(bill.invoices), bill.digits)
    lines = _with_digits(pl.from_arrow(bill.lines), bill.digits)
    check(Invoices, invoices)
    check(InvoiceLines, lines)
    check(InvoiceTotals, invoice_totals(invoices, lines))


def validate_bill(bill: Bill) -> None:
    """Every model on the run's tables. The usage rows are checked in a thread of their own while the
    invoices and lines are: Polars runs each check's query without the GIL, and one at a time they
    kept 1.3 of 2 cores busy (500k contracts)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        usage = pool.submit(lambda: check(Usage, pl.from_arrow(bill.usage)))
        try:
            check(EventCounts, pl.DataFrame([bill.counts]))
            check(Quarantine, pl.from_arrow(bill.quarantine.select(["reason", "source_file", "source_row"])))
            _check_invoices(bill)
        finally:
            wait([usage])
        usage.result()
