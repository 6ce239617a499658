"""Prepaid credit drawn down on invoices: grants first, then the customer's credit (docs/credits.md).

An invoice with an amount due draws, in this order:

1. the customer's grants in the invoice's currency that are in effect on its issue_date
   (effective_date <= issue_date < expiry_date) and not used up, by priority (lower first), then
   earliest expiry (no expiry last), then effective_date, then grant_id;
2. the customer's credit (sql/ledger/customer_credit.sql: overpayments, money freed by a credited
   invoice), as much as it held both on the invoice's date and now.

Every amount drawn is a `credit_allocations` row; what a grant has left, an invoice's balance and
the customer's credit are derived from those rows, payments and refunds by SQL, never stored twice.
What a grant still holds on its expiry_date is expired (derived at any --as-of, not stored).

- `draw_down`: inside a batch's transaction (issue, nightly, reconcile --adjust), for the invoices
  it issues: pipeline/ledger/issue.py passes it to store.commit.
- `apply_credits`: `usagebill credits apply`, for invoices already open.
- `refund`: `usagebill credits refund`, customer credit paid back.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from ..config.workspace import load_workspace
from ..core.db import sql
from ..core.errors import BillingError, CheckError
from ..core.money import currency_digits
from .payments import balances, customer_credit, ensure_tables
from .store import Ledger, ledger_path, open_ledger, run, transaction

ZERO = Decimal(0)
MONEY = pa.decimal128(38, 4)
ALLOCATIONS = pa.schema([("allocation_id", pa.int32()), ("invoice_number", pa.string()), ("source", pa.string()),
                         ("grant_id", pa.string()), ("amount", MONEY), ("applied_date", pa.date32()),
                         ("kind", pa.string()), ("run_seq", pa.int32()), ("apply_seq", pa.int32())])


@dataclass
class Grant:
    """A grant with what it has left now (granted - used by invoices not credited)."""

    grant_id: str
    customer_id: str
    currency: str
    effective_date: dt.date
    expiry_date: dt.date | None
    priority: int
    remaining: Decimal

    def in_effect(self, day: dt.date) -> bool:
        return self.effective_date <= day and (self.expiry_date is None or day < self.expiry_date)

    @property
    def order(self) -> tuple:
        return self.priority, self.expiry_date or dt.date.max, self.effective_date, self.grant_id


@dataclass(frozen=True)
class Due:
    invoice_number: str
    customer_id: str
    currency: str
    issue_date: dt.date
    amount: Decimal  # the balance the invoice still asks


@dataclass(frozen=True)
class Drawn:
    invoice_number: str
    source: str  # grant | customer_credit
    grant_id: str | None
    amount: Decimal


CreditOf = Callable[[str, str, dt.date], Decimal]  # (customer, currency, day) -> customer credit available


def plan(dues: list[Due], grants: list[Grant], credit: CreditOf, on: dt.date | None = None) -> list[Drawn]:
    """What each due amount draws, in the order given: grants in the documented order, then customer credit.

    `on`: the day credit is applied (credits apply); grants must then be in effect on it too, and the
    customer credit is taken as of it. Without it (at issue), both go by the invoice's issue_date.
    """
    by_customer: dict[tuple[str, str], list[Grant]] = {}
    for g in sorted(grants, key=lambda g: g.order):
        by_customer.setdefault((g.customer_id, g.currency), []).append(g)
    left = {g.grant_id: g.remaining for g in grants}
    taken: dict[tuple[str, str], Decimal] = {}
    out: list[Drawn] = []
    for d in dues:
        key, need = (d.customer_id, d.currency), d.amount
        for g in by_customer.get(key, []):
            if need <= 0:
                break
            if not g.in_effect(d.issue_date) or (on is not None and not g.in_effect(on)):
                continue
            take = min(need, left[g.grant_id])
            if take > 0:
                out.append(Drawn(d.invoice_number, "grant", g.grant_id, take))
                left[g.grant_id] -= take
                need -= take
        if need > 0:
            take = min(need, credit(*key, on or d.issue_date) - taken.get(key, ZERO))
            if take > 0:
                out.append(Drawn(d.invoice_number, "customer_credit", None, take))
                taken[key] = taken.get(key, ZERO) + take
    return out


# Reading the sources from the ledger --------------------------------------------------------------------------

def grants_left(ledger: Ledger, customers: set[str] | None = None) -> list[Grant]:
    """Every grant that has something left now (nothing counted as expired: the draw checks its dates)."""
    rows = ledger.fetch("credit_grant_balances", {"as_of": None, "customers": []}).to_pylist()
    return [Grant(r["grant_id"], r["customer_id"], r["currency"], r["effective_date"], r["expiry_date"], r["priority"],
                  r["remaining"])
            for r in rows if r["remaining"] > 0 and (customers is None or r["customer_id"] in customers)]


def credit_of(ledger: Ledger) -> CreditOf:
    """The customer credit available on a day: the least of the credit then and now (so that no view of the
    ledger, as of that day or later, shows a negative credit). As of days are read once each, when asked."""
    now = {(r["customer_id"], r["currency"]): r["credit"] for r in customer_credit(ledger).to_pylist()}
    then: dict[dt.date, dict[tuple[str, str], Decimal]] = {}

    def credit(customer: str, currency: str, day: dt.date) -> Decimal:
        base = now.get((customer, currency), ZERO)
        if base <= 0:
            return ZERO
        if day not in then:
            then[day] = {(r["customer_id"], r["currency"]): r["credit"]
                         for r in customer_credit(ledger, day).to_pylist()}
        return max(min(base, then[day].get((customer, currency), ZERO)), ZERO)
    return credit


def _has_credit(ledger: Ledger) -> bool:
    if run(ledger.con, sql("ledger/credit_grant_count"))[0][0]:
        return True
    return any(r["credit"] > 0 for r in customer_credit(ledger).to_pylist())


def record(ledger: Ledger, drawn: list[Drawn], dates: dict[str, dt.date], kind: str, seq: int) -> None:
    """Insert the allocations (numbered on from the last one), then check every credit rule."""
    first = run(ledger.con, sql("ledger/credit_next_allocation"))[0][0]
    rows = [{"allocation_id": first + n, "invoice_number": d.invoice_number, "source": d.source,
             "grant_id": d.grant_id, "amount": d.amount, "applied_date": dates[d.invoice_number], "kind": kind,
             "run_seq": seq if kind == "issue" else None, "apply_seq": seq if kind == "apply" else None}
            for n, d in enumerate(drawn)]
    ledger.con.register("new_credit_allocations", pa.Table.from_pylist(rows, schema=ALLOCATIONS))
    try:
        run(ledger.con, sql("ledger/credit_insert_allocations"))
    finally:
        ledger.con.unregister("new_credit_allocations")
    check(ledger)


def problems(ledger: Ledger) -> list[str]:
    """Every broken credit rule (sql/ledger/credit_check.sql, and the customer credit never negative)."""
    ensure_tables(ledger, write=False)
    found = [f"{r['check']}: {r['detail']}" for r in ledger.fetch("credit_check").to_pylist()]
    found += [f"customer credit: {r['customer_id']} {r['currency']} holds {r['credit']}"
              for r in customer_credit(ledger).to_pylist() if r["credit"] < 0]
    return found


def check(ledger: Ledger) -> None:
    broken = problems(ledger)
    if broken:  # a bug, never the user's input: the transaction rolls back
        raise CheckError(f"{ledger.path}: prepaid credit would break the ledger's rules, so nothing was written (a bug "
                         "in usagebill, or a ledger edited by hand; run check-ledger): " + "; ".join(broken[:5]))


# At issue, in the batch's transaction ------------------------------------------------------------------------

def draw_down(ledger: Ledger, run_seq: int) -> None:
    """Pay the amount due of the invoices batch `run_seq` issued from grants, then customer credit.

    Runs inside the batch's transaction after its documents, the statuses it changed and its run row
    are written (so what an invoice credited by the same batch drew, or was paid, is available to its
    replacement). Invoices draw in order of issue_date, then number.
    """
    ensure_tables(ledger, write=False)  # payments tables (TEMP, empty) on a ledger that has none yet
    if not _has_credit(ledger):
        return
    issued = {r[0] for r in run(ledger.con, sql("ledger/run_invoice_numbers"), {"s": run_seq})}
    rows = sorted((r for r in balances(ledger).to_pylist()
                   if r["invoice_number"] in issued and r["status"] == "issued" and r["balance"] > 0),
                  key=lambda r: (r["issue_date"], r["sequence"]))
    dues = [Due(r["invoice_number"], r["customer_id"], r["currency"], r["issue_date"], r["balance"]) for r in rows]
    drawn = plan(dues, grants_left(ledger, {d.customer_id for d in dues}), credit_of(ledger))
    if drawn:
        record(ledger, drawn, {d.invoice_number: d.issue_date for d in dues}, "issue", run_seq)


def run_allocations(ledger: Ledger, run_seq: int) -> list[dict]:
    """What batch `run_seq` drew at issue: (invoice_number, currency, source, grant_id, amount), in order."""
    return ledger.fetch("credit_allocations_of", {"run_seq": run_seq, "apply_seq": None}).to_pylist()


# credits apply and credits refund ----------------------------------------------------------------------------

@dataclass
class Applied:
    apply_seq: int | None  # None: nothing to apply
    allocations: list[dict]


def _existing_ledger(workspace: Path, ledger: Path | None, what: str) -> Path:
    path = ledger_path(workspace, ledger)
    if not path.exists():
        raise BillingError(f"{path}: no ledger yet, so {what}; issue invoices first (usagebill nightly or issue), "
                           "or pass --ledger")
    return path


def _known(workspace: Path, customers: tuple[str, ...]) -> None:
    ws = load_workspace(workspace)
    unknown = [c for c in customers if c not in ws.customers]
    if unknown:
        raise BillingError(f"--customer {unknown[0]}: no such customer in customers; see customers.csv")


def apply_credits(workspace: Path, on: dt.date, *, customers: tuple[str, ...] = (), ledger: Path | None = None,
                  wait: float = 600) -> Applied:
    """Apply grants and customer credit to the invoices open on `on`, oldest first (due_date, issue_date,
    number), in one transaction under the exclusive lock. A grant pays an invoice when it is in effect on
    the invoice's issue_date and on `on`; the allocations are dated `on`."""
    _known(workspace, customers)
    path = _existing_ledger(workspace, ledger, "no invoice to apply credit to")
    with open_ledger(path, write=True, wait=wait) as led, transaction(led.con, []):
        ensure_tables(led, write=False)
        rows = [r for r in balances(led).to_pylist() if r["status"] == "issued" and r["balance"] > 0
                and r["issue_date"] <= on and (not customers or r["customer_id"] in customers)]
        dues = [Due(r["invoice_number"], r["customer_id"], r["currency"], r["issue_date"], r["balance"]) for r in rows]
        drawn = plan(dues, grants_left(led, {d.customer_id for d in dues}), credit_of(led), on)
        if not drawn:
            return Applied(None, [])
        seq = run(led.con, sql("ledger/credit_next_apply"))[0][0]
        record(led, drawn, {d.invoice_number: on for d in dues}, "apply", seq)
        return Applied(seq, led.fetch("credit_allocations_of", {"run_seq": None, "apply_seq": seq}).to_pylist())


@dataclass(frozen=True)
class Refund:
    reference: str
    customer_id: str
    currency: str
    amount: Decimal
    refund_date: dt.date


def refund(workspace: Path, r: Refund, *, ledger: Path | None = None, wait: float = 600) -> bool:
    """Record customer credit paid back, never more than the credit (as of its date, and now).

    False when the same refund (reference and values) was recorded before; another refund under a
    recorded reference is an error.
    """
    digits = currency_digits(r.currency)
    if digits is None:
        raise BillingError(f"--currency {r.currency}: not an ISO 4217 currency; write e.g. USD")
    if r.amount <= 0 or -r.amount.as_tuple().exponent > digits:
        raise BillingError(f"--amount {r.amount}: write a positive amount with at most {digits} decimals "
                           f"for {r.currency}")
    _known(workspace, (r.customer_id,))
    path = _existing_ledger(workspace, ledger, "no credit to refund")
    with open_ledger(path, write=True, wait=wait) as led, transaction(led.con, []):
        ensure_tables(led, write=False)
        before = led.con.sql("SELECT * FROM credit_refunds WHERE reference = $r", params={"r": r.reference}).fetchall()
        if before:
            b = dict(zip(("reference", "customer_id", "currency", "amount", "refund_date"), before[0]))
            if (b["customer_id"], b["currency"], b["amount"], b["refund_date"]) == \
                    (r.customer_id, r.currency, r.amount, r.refund_date):
                return False
            raise BillingError(f"--reference {r.reference}: a refund of {b['amount']} {b['currency']} to "
                               f"{b['customer_id']} on {b['refund_date']} was recorded under it; a reference names "
                               "one refund")
        available = credit_of(led)(r.customer_id, r.currency, r.refund_date)
        if r.amount > available:
            raise BillingError(f"customer {r.customer_id!r} holds {available:.{digits}f} {r.currency} of credit "
                               f"(on {r.refund_date} and now); a refund is never more than the credit "
                               "(see usagebill credits WS --customer ID)")
        run(led.con, sql("ledger/credit_insert_refund"),
            {"ref": r.reference, "c": r.customer_id, "cur": r.currency, "a": r.amount, "d": r.refund_date,
             "at": dt.datetime.now(dt.UTC)})
        check(led)
    return True
