"""`usagebill ar WS --as-of D`: what each customer owes at D, by how long it is past due.

Per customer and currency (amounts in different currencies are never added): the open balance
of every invoice document issued by D, in the bucket of its days past due at D (D - due_date):
current (not yet due), 1-30, 31-60, 61-90, 90+ (an invoice paid in full, or credited, is in no
bucket); then the customer's credit (unallocated payments, less credit applied and refunded) and
the balance net of it. Balances are net of prepaid credit applied (docs/credits.md). Payments
count from their received_date, credit notes from their issue_date, credit applied from its
applied_date; invoices credited in full count as not open (their present status).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from ...config.workspace import load_workspace
from ...core.money import currency_digits, format_money
from ...ledger.payments import balances, customer_credit, ensure_tables
from ...ledger.store import ledger_path, open_ledger

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
COLUMNS = ("customer_id", "name", "currency", *BUCKETS, "open", "credit", "balance")
INVOICE_COLUMNS = ("invoice_number", "customer_id", "currency", "issue_date", "due_date", "total", "credited",
                   "credits_applied", "paid", "balance", "payment_status", "days_past_due", "bucket")


def bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    for upper, name in ((30, "1-30"), (60, "31-60"), (90, "61-90")):
        if days_past_due <= upper:
            return name
    return "90+"


def aging(workspace, as_of: dt.date, *, ledger=None, wait: float = 600,  # paths
          customers: tuple[str, ...] = ()) -> tuple[list[dict], list[dict]]:
    """(rows per customer and currency, rows per invoice document) as of `as_of`, money as exact text."""
    ws = load_workspace(workspace)
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        ensure_tables(led, write=False)
        docs = balances(led, as_of)
        credit = customer_credit(led, as_of, docs).to_pylist()
    invoices, summary = [], {}
    for r in docs.to_pylist():
        if customers and r["customer_id"] not in customers:
            continue
        days = (as_of - r["due_date"]).days
        owed = r["status"] != "credited" and r["balance"] > 0
        r["days_past_due"], r["bucket"] = (days, bucket(days)) if owed else (None, "")  # paid: in no bucket
        invoices.append(r)
        if not owed:
            continue
        s = summary.setdefault((r["customer_id"], r["currency"]), {b: Decimal(0) for b in BUCKETS})
        s[r["bucket"]] += r["balance"]
    credits = {(c["customer_id"], c["currency"]): c["credit"] for c in credit
               if c["credit"] and (not customers or c["customer_id"] in customers)}
    for key in credits:
        summary.setdefault(key, {b: Decimal(0) for b in BUCKETS})
    rows = []
    for (customer, currency), s in sorted(summary.items()):
        digits = currency_digits(currency) or 0
        opened = sum(s.values(), Decimal(0))
        given = credits.get((customer, currency), Decimal(0))
        name = ws.customers[customer].name if customer in ws.customers else customer
        rows.append({"customer_id": customer, "name": name, "currency": currency,
                     **{b: format_money(s[b], digits) for b in BUCKETS}, "open": format_money(opened, digits),
                     "credit": format_money(given, digits), "balance": format_money(opened - given, digits)})
    inv_rows = [{k: _text(r[k], currency_digits(r["currency"]) or 0) for k in INVOICE_COLUMNS} for r in invoices]
    return rows, inv_rows


def _text(value, digits: int) -> str:
    if isinstance(value, Decimal):
        return format_money(value, digits)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


TEXT_COLUMNS = {"customer_id", "name", "currency", "invoice_number", "payment_status", "bucket"}


def render(rows: list[dict], columns: tuple[str, ...], fmt: str) -> str:
    """Aligned text (money right-aligned) or CSV (text cells formula-safe; numbers and dates as they are)."""
    from ...billing.emit import neutralize

    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows([[neutralize(r[c]) if c in TEXT_COLUMNS else r[c] for c in columns] for r in rows])
        return buf.getvalue()
    widths = [max([len(c)] + [len(r[c]) for r in rows]) for c in columns]
    def line(cells):
        return "  ".join(v.ljust(w) if c in TEXT_COLUMNS else v.rjust(w)
                         for c, v, w in zip(columns, cells, widths)).rstrip()
    return "\n".join([line(columns)] + [line([r[c] for c in columns]) for r in rows]) + "\n"
