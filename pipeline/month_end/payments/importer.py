"""`usagebill payments import WS FILE.csv`: payments received, allocated to open invoices in one transaction.

FILE has a header and the columns payment_id, customer_id, received_date, amount, currency and,
optionally, invoice_number (no others: a misspelt invoice_number must not silently become an
unnamed payment). Each new payment is allocated, in order of received_date then line:

1. to the invoice it names, up to that invoice's balance;
2. then to the customer's other open invoices of its currency, oldest first (due_date, issue_date, number);
3. what is left stays as the customer's credit.

A payment_id already in the ledger with the same values is skipped (imported once); with other
values it is an error. Every problem (unknown customer, another currency than the customer is
billed in, unknown invoice, a malformed cell) stops the import before anything is written: one
line naming the file, line and column. The whole import is one transaction under the ledger's
exclusive lock.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from ...config.tables import bad_id_char
from ...config.workspace import Workspace, load_workspace
from ...core.errors import BillingError, CheckError
from ...core.fields import parse_decimal
from ...core.money import currency_digits
from ...ledger.import_file import Problems, rows
from ...ledger.payments import balances, ensure_tables
from ...ledger.store import Ledger, insert, ledger_path, open_ledger, transaction

REQUIRED = ("payment_id", "customer_id", "received_date", "amount", "currency")
OPTIONAL = ("invoice_number",)
COLUMNS = ("payment_id", "customer_id", "received_date", "amount", "currency", "invoice_number")


@dataclass(frozen=True)
class Payment:
    payment_id: str
    customer_id: str
    received_date: dt.date
    amount: Decimal
    currency: str
    invoice_number: str | None
    line: int

    def same_as(self, stored: dict) -> bool:
        return (stored["customer_id"], stored["received_date"], stored["amount"], stored["currency"],
                stored["invoice_number"]) == (self.customer_id, self.received_date, self.amount, self.currency,
                                              self.invoice_number)


@dataclass
class Imported:
    payments: list[Payment] = field(default_factory=list)  # new ones, allocated
    skipped: list[Payment] = field(default_factory=list)  # imported before
    allocations: list[tuple[str, str, Decimal]] = field(default_factory=list)  # (payment_id, invoice, amount)
    credit: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (customer, currency) -> left over
    import_seq: int | None = None


def read_payments(path: Path) -> list[Payment]:
    """The file's rows as payments, every cell checked; duplicates of one payment_id must agree."""
    name = path.name
    problems = Problems(name)
    out: list[Payment] = []
    seen: dict[str, Payment] = {}
    for n, row in rows(path, COLUMNS, REQUIRED, "[,invoice_number]", "payment", problems):
        payment = _payment(row, n, problems)
        if payment is None:
            continue
        earlier = seen.get(payment.payment_id)
        if earlier is None:
            seen[payment.payment_id] = payment
            out.append(payment)
        elif not payment.same_as({**earlier.__dict__}):
            problems.add(n, "payment_id", f"{payment.payment_id!r} is also on line {earlier.line} with other "
                                          "values; a payment id names one payment")
    problems.raise_if_any()
    return out


def _payment(row: dict[str, str], n: int, problems: Problems) -> Payment | None:
    before = len(problems.items)
    pid, customer = row["payment_id"], row["customer_id"]
    for column, value in (("payment_id", pid), ("customer_id", customer)):
        if not value:
            problems.add(n, column, "is empty")
        elif bad_id_char(value):
            problems.add(n, column, f"holds the control character {bad_id_char(value)!r}")
    try:
        received = dt.date.fromisoformat(row["received_date"])
    except ValueError:
        problems.add(n, "received_date", f"{row['received_date']!r} is not a date; write YYYY-MM-DD")
        received = None
    currency = row["currency"].upper()
    digits = currency_digits(currency) if currency else None
    if digits is None:
        problems.add(n, "currency", f"{row['currency']!r} is not an ISO 4217 currency; write e.g. USD")
    amount = parse_decimal(row["amount"]) if row["amount"] else None
    if amount is None or amount <= 0:
        problems.add(n, "amount", f"{row['amount']!r} is not a positive amount; write e.g. 120.50 "
                                  "(a refund is not a payment)")
    elif digits is not None and -amount.as_tuple().exponent > digits:
        problems.add(n, "amount", f"{row['amount']} has more decimals than {currency}'s {digits}")
    elif amount.adjusted() >= 30:
        problems.add(n, "amount", f"{row['amount']} is too large")
    if len(problems.items) > before:
        return None
    invoice = row.get("invoice_number") or None
    return Payment(pid, customer, received, amount, currency, invoice, n)


def _check_against(payments: list[Payment], ws: Workspace, ledger: Ledger, name: str) -> None:
    """Customers known, currencies the customer is billed in, named invoices theirs and in that currency."""
    problems = Problems(name)
    invoices = {r["invoice_number"]: r for r in ledger.fetch("payments_invoices").to_pylist()}
    billed: dict[str, set[str]] = {}
    for r in invoices.values():
        billed.setdefault(r["customer_id"], set()).add(r["currency"])
    for k in ws.contracts.values():
        if k.plan_id in ws.pricebook.plans:
            billed.setdefault(k.customer_id, set()).add(ws.pricebook.plans[k.plan_id].currency)
    for p in payments:
        if p.customer_id not in ws.customers:
            problems.add(p.line, "customer_id", f"unknown customer {p.customer_id!r}; it is not in the workspace's "
                                                "customers")
            continue
        currencies = billed.get(p.customer_id, set())
        if p.currency not in currencies:
            billed = ", ".join(sorted(currencies)) or "no currency yet"
            problems.add(p.line, "currency", f"payment {p.payment_id!r} is in {p.currency}, but customer "
                                             f"{p.customer_id!r} is billed in {billed}")
            continue
        if p.invoice_number is not None:
            inv = invoices.get(p.invoice_number)
            if inv is None:
                problems.add(p.line, "invoice_number", f"no issued invoice {p.invoice_number!r} in the ledger")
            elif inv["customer_id"] != p.customer_id:
                problems.add(p.line, "invoice_number", f"invoice {p.invoice_number} is customer "
                                                       f"{inv['customer_id']!r}'s, not {p.customer_id!r}'s")
            elif inv["currency"] != p.currency:
                problems.add(p.line, "currency", f"invoice {p.invoice_number} is in {inv['currency']}, the payment "
                                                 f"in {p.currency}")
    problems.raise_if_any()


def allocate(payments: list[Payment], open_invoices: list[dict]) -> Imported:
    """Allocate in order of received_date, then line: the named invoice, the oldest open ones, then credit."""
    done = Imported()
    left = {r["invoice_number"]: r["balance"] for r in open_invoices}
    by_customer: dict[tuple[str, str], list[str]] = {}
    for r in open_invoices:  # already oldest first
        by_customer.setdefault((r["customer_id"], r["currency"]), []).append(r["invoice_number"])
    for p in sorted(payments, key=lambda p: (p.received_date, p.line)):
        remaining = p.amount
        order = by_customer.get((p.customer_id, p.currency), [])
        if p.invoice_number is not None:
            order = [p.invoice_number] + [x for x in order if x != p.invoice_number]
        for number in order:
            if remaining <= 0:
                break
            take = min(remaining, left.get(number, Decimal(0)))
            if take > 0:
                done.allocations.append((p.payment_id, number, take))
                left[number] -= take
                remaining -= take
        if remaining > 0:
            key = (p.customer_id, p.currency)
            done.credit[key] = done.credit.get(key, Decimal(0)) + remaining
        done.payments.append(p)
    return done


def import_payments(workspace: Path, file: Path, *, ledger: Path | None = None, wait: float = 600) -> Imported:
    """Read, check and allocate FILE's payments, and record them in the ledger in one transaction."""
    file = Path(file)
    payments = read_payments(file)
    ws = load_workspace(workspace)
    path = ledger_path(workspace, ledger)
    if not path.exists():
        raise BillingError(f"{path}: no ledger yet, so no invoice to pay; issue invoices first "
                           "(usagebill nightly or issue), or pass --ledger")
    with open_ledger(path, write=True, wait=wait) as led, transaction(led.con, []):
        ensure_tables(led, write=True)
        _check_against(payments, ws, led, file.name)
        stored = {r["payment_id"]: r for r in led.fetch("payments_stored").to_pylist()}
        new, skipped = [], []
        for p in payments:
            before = stored.get(p.payment_id)
            if before is None:
                new.append(p)
            elif p.same_as(before):
                skipped.append(p)
            else:
                raise BillingError(f"{file.name} line {p.line}, payment_id: {p.payment_id!r} was imported "
                                   f"before (from {before['source_file']} line {before['source_line']}) with other "
                                   "values; a payment is imported once; nothing was imported")
        open_now = [r for r in balances(led).to_pylist() if r["status"] == "issued" and r["balance"] > 0]
        done = allocate(new, open_now)
        done.skipped = skipped
        if new:
            done.import_seq = led.fetch("payments_next_import").column(0)[0].as_py()
            _insert(led, done, file.name)
            broken = led.fetch("payments_check").to_pylist()
            if broken:
                raise CheckError(f"{path}: payments would break the ledger's rules ({broken[0]}); nothing was "
                                 "imported (a bug in usagebill, or a ledger edited by hand)")
    return done


def _insert(led: Ledger, done: Imported, source: str) -> None:
    now = dt.datetime.now(dt.UTC)
    ps = done.payments
    payments = pa.table({
        "payment_id": [p.payment_id for p in ps], "customer_id": [p.customer_id for p in ps],
        "received_date": pa.array([p.received_date for p in ps], pa.date32()),
        "amount": pa.array([p.amount for p in ps], pa.decimal128(38, 4)), "currency": [p.currency for p in ps],
        "invoice_number": pa.array([p.invoice_number for p in ps], pa.string()),
        "source_file": [source] * len(ps), "source_line": pa.array([p.line for p in ps], pa.int32()),
        "import_seq": pa.array([done.import_seq] * len(ps), pa.int32()),
        "imported_at": pa.array([now] * len(ps), pa.timestamp("us", tz="UTC"))})
    allocations = pa.table({"payment_id": pa.array([a[0] for a in done.allocations], pa.string()),
                            "invoice_number": pa.array([a[1] for a in done.allocations], pa.string()),
                            "amount": pa.array([a[2] for a in done.allocations], pa.decimal128(38, 4))})
    insert(led.con, "payments", payments)
    insert(led.con, "payment_allocations", allocations)

