"""`usagebill credits WS [--customer ID] [--as-of D]`: what prepaid credit is left, per grant and per customer.

Per grant: granted, used (drawn by invoices not credited since, by D), expired (from its
expiry_date on, whatever it did not give) and remaining, with its status. Per customer and
currency: the customer credit (customer_credit.sql): received (overpayments, money freed by
credited invoices), applied to invoices, refunded, and the balance. Read under the shared lock;
nothing is written. `preview` uses `preview_credit` for the credit an open period's invoice would draw.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from ..config.workspace import load_workspace
from ..core.errors import BillingError
from ..core.money import currency_digits, format_money
from .credits import Due, credit_of, grants_left, plan
from .payments import customer_credit, ensure_tables
from .store import Ledger, ledger_path, open_ledger

GRANT_COLUMNS = ("grant_id", "customer_id", "currency", "effective_date", "expiry_date", "priority", "granted", "used",
                 "expired", "remaining", "status", "description")
CUSTOMER_COLUMNS = ("customer_id", "name", "currency", "received", "applied", "refunded", "credit")
MONEY = {"granted", "used", "expired", "remaining", "received", "applied", "refunded", "credit"}


def _text(value, digits: int) -> str:  # a ledger value
    if isinstance(value, Decimal):
        return format_money(value, digits)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def balances_as_of(workspace: Path, as_of: dt.date, *, customers: tuple[str, ...] = (), ledger: Path | None = None,
                   wait: float = 600) -> tuple[list[dict], list[dict]]:
    """(rows per grant, rows per customer and currency) as of `as_of`, money as exact text."""
    ws = load_workspace(workspace)
    unknown = [c for c in customers if c not in ws.customers]
    if unknown:
        raise BillingError(f"--customer {unknown[0]}: no such customer in customers; see customers.csv")
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        ensure_tables(led, write=False)
        grants = led.fetch("credit_grant_balances", {"as_of": as_of, "customers": list(customers)}).to_pylist()
        credit = [r for r in customer_credit(led, as_of).to_pylist()
                  if not customers or r["customer_id"] in customers]
    grant_rows = [{k: _text(r[k], currency_digits(r["currency"]) or 0) for k in GRANT_COLUMNS} for r in grants]
    customer_rows = []
    for r in credit:
        c = ws.customers.get(r["customer_id"])
        customer_rows.append({**{k: _text(r[k], currency_digits(r["currency"]) or 0) for k in CUSTOMER_COLUMNS
                                 if k != "name"}, "name": c.name if c else r["customer_id"]})
    return grant_rows, customer_rows


def render(grants: list[dict], customers: list[dict], fmt: str, as_of: dt.date) -> str:
    """Two aligned tables (grants, then customer credit), or one JSON document."""
    if fmt == "json":
        return json.dumps({"as_of": as_of.isoformat(), "grants": grants, "customer_credit": customers}, indent=2) + "\n"
    out = [f"prepaid credit as of {as_of.isoformat()}", "", "grants:"]
    out += _table(grants, GRANT_COLUMNS) if grants else ["  (none)"]
    out += ["", "customer credit (overpayments and money freed by credited invoices):"]
    out += _table(customers, CUSTOMER_COLUMNS) if customers else ["  (none)"]
    return "\n".join(out) + "\n"


def _table(rows: list[dict], columns: tuple[str, ...]) -> list[str]:
    widths = [max([len(c)] + [len(r[c]) for r in rows]) for c in columns]

    def line(cells: list[str]) -> str:
        return ("  " + "  ".join(v.rjust(w) if c in MONEY or c == "priority" else v.ljust(w)
                                 for c, v, w in zip(columns, cells, widths))).rstrip()
    return [line(list(columns))] + [line([r[c] for c in columns]) for r in rows]


def would_draw(led: Ledger, customer_id: str, currency: str, issue_date: dt.date, amount: Decimal) -> list[dict]:
    """What an invoice of `amount` issued on `issue_date` would draw now (the draw-down's own rule), as
    [{source, grant_id, amount}]: the preview of an open period's invoice."""
    ensure_tables(led, write=False)
    due = Due("(preview)", customer_id, currency, issue_date, amount)
    drawn = plan([due], grants_left(led, {customer_id}), credit_of(led))
    return [{"source": d.source, "grant_id": d.grant_id, "amount": d.amount} for d in drawn]


def preview_credit(workspace: Path, invoice: dict, digits: int, *, ledger: Path | None = None,
                   wait: float = 600) -> dict:
    """The credit a draft invoice (run columns: customer_id, currency, issue_date, total) would draw if it
    were issued now, from the ledger as it is (read only; no ledger: none): drawn, prepaid, amount_due."""
    unit = Decimal(1).scaleb(-digits)
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        drawn = would_draw(led, invoice["customer_id"], invoice["currency"], invoice["issue_date"], invoice["total"])
    prepaid = sum((c["amount"] for c in drawn), Decimal(0))
    return {"drawn": [{**c, "amount": c["amount"].quantize(unit)} for c in drawn], "prepaid": prepaid.quantize(unit),
            "amount_due": (invoice["total"] - prepaid).quantize(unit)}
