"""emit: invoices, lines and usage as Arrow tables, then Parquet and CSV files.

Money columns are DECIMAL(38, 4) in Parquet (every ISO 4217 minor unit fits) and
hold values rounded to the invoice currency's minor unit; CSV writes exactly that
many fractional digits. Rows are sorted, so the same inputs give the same bytes.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .invoice import Invoice
from .money import MONEY_SCALE, QUANTITY_SCALE, format_money

MONEY = pa.decimal128(38, MONEY_SCALE)
QUANTITY = pa.decimal128(38, QUANTITY_SCALE)
PRICE = pa.decimal128(38, 12)
PERCENT = pa.decimal128(12, 6)

INVOICE_SCHEMA = pa.schema([
    ("invoice_id", pa.string()), ("invoice_number", pa.string()), ("status", pa.string()),
    ("customer_id", pa.string()), ("contract_id", pa.string()), ("plan_id", pa.string()),
    ("currency", pa.string()), ("period_start", pa.date32()), ("period_end", pa.date32()),
    ("issue_date", pa.date32()), ("due_date", pa.date32()), ("subtotal", MONEY), ("discount_total", MONEY),
    ("tax_percent", PERCENT), ("tax_note", pa.string()), ("tax_name", pa.string()), ("tax_total", MONEY),
    ("total", MONEY),
])
LINE_SCHEMA = pa.schema([
    ("invoice_id", pa.string()), ("line_number", pa.int32()), ("line_type", pa.string()),
    ("charge_id", pa.string()), ("metric_id", pa.string()), ("group_key", pa.string()),
    ("description", pa.string()), ("quantity", QUANTITY), ("unit_price", PRICE), ("amount", MONEY),
    ("currency", pa.string()), ("service_start", pa.date32()), ("service_end", pa.date32()),
])
USAGE_SCHEMA = pa.schema([
    ("invoice_id", pa.string()), ("contract_id", pa.string()), ("customer_id", pa.string()),
    ("period_start", pa.date32()), ("period_end", pa.date32()), ("charge_id", pa.string()),
    ("metric_id", pa.string()), ("group_key", pa.string()), ("quantity", QUANTITY), ("events", pa.int64()),
])
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_COLUMNS = {"subtotal", "discount_total", "tax_total", "total", "amount"}


def _q(value: Decimal | None, scale: int) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(1).scaleb(-scale))


def invoices_table(invoices: list[Invoice], payment_terms: dict[str, int]) -> pa.Table:
    rows = []
    for inv in invoices:
        b = inv.billed
        rows.append({
            "invoice_id": inv.invoice_id, "invoice_number": inv.invoice_number, "status": inv.status,
            "customer_id": b.contract.customer_id, "contract_id": b.contract.contract_id,
            "plan_id": b.contract.plan_id, "currency": inv.currency, "period_start": b.period.start,
            "period_end": b.period.end, "issue_date": inv.issue_date,
            "due_date": inv.due_date(payment_terms[b.contract.customer_id]),
            "subtotal": _q(inv.subtotal, MONEY_SCALE), "discount_total": _q(inv.discount_total, MONEY_SCALE),
            "tax_percent": _q(inv.tax_percent, 6), "tax_note": inv.tax_note, "tax_name": inv.tax_name,
            "tax_total": _q(inv.tax_total, MONEY_SCALE), "total": _q(inv.total, MONEY_SCALE),
        })
    return pa.Table.from_pylist(rows, schema=INVOICE_SCHEMA)


def lines_table(invoices: list[Invoice]) -> pa.Table:
    rows = []
    for inv in invoices:
        for line in inv.lines:
            rows.append({
                "invoice_id": inv.invoice_id, "line_number": line.line_number, "line_type": line.line_type,
                "charge_id": line.charge_id, "metric_id": line.metric_id, "group_key": line.group_key,
                "description": line.description, "quantity": _q(line.quantity, QUANTITY_SCALE),
                "unit_price": _q(line.unit_price, 12), "amount": _q(line.amount, MONEY_SCALE),
                "currency": inv.currency, "service_start": inv.billed.period.start,
                "service_end": inv.billed.period.end,
            })
    return pa.Table.from_pylist(rows, schema=LINE_SCHEMA)


def _cell(name: str, value: object, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if name in MONEY_COLUMNS:
            return format_money(value, digits)
        return f"{value.normalize():f}" if name in ("unit_price", "tax_percent") else f"{value:f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return neutralize(str(value))


def neutralize(text: str) -> str:
    """Keep a spreadsheet from running a text cell as a formula: prefix =, +, -, @, tab and CR with a quote."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_bytes(table: pa.Table, digits_of: dict[str, int]) -> bytes:
    """CSV with money at the currency's minor unit (`digits_of[currency]`); \\n line ends, minimal quoting."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        digits = digits_of.get(row.get("currency") or "", 2)
        writer.writerow([_cell(k, v, digits) for k, v in row.items()])
    return buf.getvalue().encode("utf-8")


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
