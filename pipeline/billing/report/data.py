"""data: what report.html shows, from a finished run in memory or from its output folder.

Both sources give the same `RunData` (Parquet keeps every value exactly), so the report a run
writes and `usagebill report OUT_DIR` are the same bytes. Summaries are Arrow group-bys: cheap
even for tens of thousands of invoices.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ...core.errors import OutputError
from ...core.money import currency_digits, round_money
from ..ingest import QUARANTINE_REASONS
from ..types import Bill

INVOICE_COLUMNS = ["invoice_id", "customer_id", "contract_id", "plan_id", "currency", "period_start", "period_end",
                   "subtotal", "discount_total", "tax_total", "total"]
LINE_COLUMNS = ["currency", "line_type", "charge_id", "amount"]
REASONS = QUARANTINE_REASONS
SAMPLE_ROWS = 5


@dataclass
class RunData:
    manifest: dict  # without its timings: the report is the same bytes for the same inputs
    invoices: pa.Table
    lines: pa.Table
    daily: pa.Table | None  # None: the folder has no daily_usage.parquet
    quarantine: Callable[[], Iterator[pa.RecordBatch]]

    @classmethod
    def from_bill(cls, result: Bill) -> RunData:
        manifest = result.manifest()
        manifest.pop("seconds", None)
        return cls(manifest, result.invoices.select(INVOICE_COLUMNS), result.lines.select(LINE_COLUMNS),
                   result.daily_usage, lambda: iter(result.quarantine.to_batches(max_chunksize=65536)))

    @classmethod
    def from_folder(cls, folder: Path) -> RunData:
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            manifest.pop("seconds", None)
            invoices = pq.read_table(folder / "invoices.parquet", columns=INVOICE_COLUMNS)
            lines = pq.read_table(folder / "invoice_lines.parquet", columns=LINE_COLUMNS)
            daily = pq.read_table(folder / "daily_usage.parquet") if (folder / "daily_usage.parquet").exists() else None
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise OutputError(f"{folder}: not a readable usagebill output ({exc}); pass the folder a run wrote "
                              "(it holds manifest.json, invoices.parquet and invoice_lines.parquet)") from None
        quarantine_file = folder / "quarantine.parquet"

        def batches() -> Iterator[pa.RecordBatch]:
            if quarantine_file.exists():
                yield from pq.ParquetFile(quarantine_file).iter_batches(batch_size=65536)
        return cls(manifest, invoices, lines, daily, batches)


def digits(currency: str) -> int:
    return currency_digits(currency) or 0


def money(value: Decimal | None, currency: str) -> str:
    """12,345.67 at the currency's minor unit (values are already rounded to it)."""
    if value is None:
        return ""
    d = digits(currency)
    return f"{round_money(value, d):,.{d}f}"


def _grouped(t: pa.Table, keys: list[str], sums: list[str], count: str) -> list[dict]:
    """Rows of keys, the sum of each `sums` column, and `count` (rows per group)."""
    agg = t.group_by(keys, use_threads=False).aggregate([(c, "sum") for c in sums] + [(count, "count")])
    names = {f"{c}_sum": c for c in sums} | {f"{count}_count": "count"}
    return agg.rename_columns([names.get(n, n) for n in agg.column_names]).to_pylist()


def currency_totals(d: RunData) -> list[dict]:
    rows = _grouped(d.invoices, ["currency"], ["subtotal", "discount_total", "tax_total", "total"], "invoice_id")
    return sorted(rows, key=lambda r: r["currency"])


def plan_totals(d: RunData) -> list[dict]:
    rows = _grouped(d.invoices, ["currency", "plan_id"], ["subtotal", "total"], "invoice_id")
    return sorted(rows, key=lambda r: (r["currency"], -r["subtotal"], r["plan_id"] or ""))


def charge_totals(d: RunData) -> list[dict]:
    lines = d.lines.set_column(d.lines.schema.get_field_index("charge_id"), "charge_id",
                               pc.fill_null(d.lines.column("charge_id"), ""))
    rows = _grouped(lines, ["currency", "line_type", "charge_id"], ["amount"], "line_type")
    return sorted(rows, key=lambda r: (r["currency"], r["line_type"] == "discount", -abs(r["amount"]),
                                       r["charge_id"], r["line_type"]))


def _first_per_currency(t: pa.Table, order: list[tuple[str, str]], n: int) -> dict[str, list[dict]]:
    """The first n rows of each currency in `order`, which orders rows fully (its last key is unique
    within a currency): Arrow picks each currency's n first rows and sorts only those (sorting every
    invoice cost 828k invoices ~0.9 s); only they become dicts."""
    out = {}
    for currency in sorted(pc.unique(t.column("currency")).to_pylist()):
        rows = t.filter(pc.equal(t.column("currency"), currency))
        if rows.num_rows > n:
            rows = rows.take(pc.select_k_unstable(rows, k=n, sort_keys=order))
        out[currency] = rows.sort_by(order).to_pylist()
    return out


def top_customers(d: RunData, n: int = 10) -> dict[str, list[dict]]:
    agg = d.invoices.group_by(["currency", "customer_id"], use_threads=False).aggregate(
        [("total", "sum"), ("invoice_id", "count")])
    names = {"total_sum": "total", "invoice_id_count": "count"}
    agg = agg.rename_columns([names.get(n, n) for n in agg.column_names])
    return _first_per_currency(agg, [("total", "descending"), ("customer_id", "ascending")], n)


def largest_invoices(d: RunData, n: int = 10) -> dict[str, list[dict]]:
    return _first_per_currency(d.invoices, [("total", "descending"), ("invoice_id", "ascending")], n)


def daily_series(d: RunData) -> list[dict]:
    """Per metric (most events first): its days, events per day, and the field's daily sum (sum metrics)."""
    if d.daily is None or not d.daily.num_rows:
        return []
    by: dict[str, dict] = {}
    for r in d.daily.to_pylist():
        m = by.setdefault(r["metric_id"], {"metric_id": r["metric_id"], "days": {}, "events": 0, "has_sum": False})
        m["days"][r["day"]] = (r["events"], r["quantity"])
        m["events"] += r["events"]
        m["has_sum"] = m["has_sum"] or r["quantity"] is not None
    return sorted(by.values(), key=lambda m: (-m["events"], m["metric_id"]))


def quarantine_samples(d: RunData, n: int = SAMPLE_ROWS) -> dict[str, list[dict]]:
    """The first n quarantined rows of each reason, in file order (stops reading once it has them)."""
    counts = d.manifest.get("counts", {})
    wanted = {r for r in REASONS if counts.get(r)}
    out: dict[str, list[dict]] = {r: [] for r in REASONS if r in wanted}
    for batch in d.quarantine():
        if not wanted:
            break
        reasons = batch.column(batch.schema.get_field_index("reason"))
        for reason in sorted(wanted):
            rows = batch.filter(pc.equal(reasons, reason)).slice(0, n - len(out[reason])).to_pylist()
            out[reason] += rows
            if len(out[reason]) >= n:
                wanted.discard(reason)
    return out
