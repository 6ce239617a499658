"""The payments tables in a ledger, and the balances of invoices and customers read from it.

A ledger made before payments existed has no payments tables: the first `payments import`
creates them inside its transaction; a reader gets empty temporary tables instead, so every
query works on old and new ledgers alike.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ..core.db import sql
from .store import Ledger, run

TABLES = ("payments", "payment_allocations")


def has_tables(ledger: Ledger) -> bool:
    found = {r[0] for r in run(ledger.con, sql("ledger/main_tables"))}
    return set(TABLES) <= found


def ensure_tables(ledger: Ledger, *, write: bool) -> None:
    """Create the tables (a writer, inside its transaction) or empty TEMP ones (a reader) where missing."""
    if not has_tables(ledger):
        run(ledger.con, sql("ledger/payments_schema", temp="" if write else "TEMP"))


def balances(ledger: Ledger, as_of: dt.date | None = None) -> pa.Table:
    """sql/ledger/invoice_balances.sql: every invoice document's total, credited, paid, balance and status."""
    return ledger.fetch("invoice_balances", {"as_of": as_of})


def customer_credit(ledger: Ledger, as_of: dt.date | None = None, table: pa.Table | None = None) -> pa.Table:
    """sql/ledger/customer_credit.sql: credit per (customer_id, currency); from `table` (balances' rows, as of
    the same day) when the caller has it, else from the balances computed inside the same query (no table
    of every invoice is handed to Python)."""
    if table is not None:
        return ledger.fetch("customer_credit", {"as_of": as_of}, invoice_balances_t=table)
    query = with_balances(f"SELECT * FROM ({sql('ledger/customer_credit')}) ORDER BY customer_id, currency")
    return ledger.con.sql(query, params={"as_of": as_of}).to_arrow_table()


def with_balances(query: str) -> str:
    """`query` reading invoice_balances_t as sql/ledger/invoice_balances.sql's rows (parameter $as_of),
    computed inside it: no table of every invoice's balance is handed to Python and back."""
    return f"WITH invoice_balances_t AS ({sql('ledger/invoice_balances')})\n{query}"
