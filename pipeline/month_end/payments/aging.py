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

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from ...config.workspace import load_workspace
from ...core.money import format_money
from ...ledger.export import digits_of, texts, write_listing
from ...ledger.payments import balances, customer_credit, ensure_tables
from ...ledger.store import ledger_path, open_ledger


def aging_tables(workspace, as_of: dt.date, *, ledger=None, wait: float = 600,  # paths
                 customers: tuple[str, ...] = ()) -> tuple[pa.Table, pa.Table]:
    """(one row per customer and currency, one row per invoice document) as of `as_of`, by DuckDB over the
    ledger: the columns and their order are those of sql/ledger/aging_customers.sql and aging_invoices.sql."""
    ws = load_workspace(workspace)
    names = pa.table({"customer_id": pa.array(list(ws.customers), pa.string()),
                      "name": pa.array([c.name for c in ws.customers.values()], pa.string())})
    params = {"as_of": as_of, "customers": list(customers)}
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        ensure_tables(led, write=False)
        docs = balances(led, as_of)
        credit = customer_credit(led, as_of, docs)
        invoices = led.fetch("aging_invoices", params, invoice_balances_t=docs)
        summary = led.fetch("aging_customers", {"customers": list(customers)}, aging_t=invoices, credit_t=credit,
                            names_t=names)
    return summary, invoices


def aging(workspace, as_of: dt.date, *, ledger=None, wait: float = 600,  # paths
          customers: tuple[str, ...] = ()) -> tuple[list[dict], list[dict]]:
    """aging_tables' rows as text, as `ar` writes them (money exactly at its currency's digits)."""
    return tuple(_text_rows(t) for t in aging_tables(workspace, as_of, ledger=ledger, wait=wait, customers=customers))


def _text_rows(t: pa.Table) -> list[dict]:
    if not t.num_rows:
        return []
    cells = [pc.fill_null(c, "") for c in texts(t, digits_of(t), format_money)]
    return pa.table(cells, names=t.column_names).to_pylist()


TEXT_COLUMNS = {"customer_id", "name", "currency", "invoice_number", "payment_status", "bucket"}


def write(t: pa.Table, fmt: str, out) -> None:  # a binary stream
    """Aligned text (text left-aligned, the rest right-aligned) or CSV (text cells formula-safe; numbers and
    dates as they are), slice by slice (pipeline/ledger/export.py write_listing)."""
    write_listing(t, fmt, out, right=set(t.column_names) - TEXT_COLUMNS, guarded=TEXT_COLUMNS, inexact=format_money)


