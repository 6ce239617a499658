"""`usagebill credits import WS FILE.csv`: prepaid credit grants, recorded in the ledger in one transaction.

FILE has a header and the columns grant_id, customer_id, currency, amount, effective_date and,
optionally, expiry_date, priority and description (no others: a misspelt expiry_date must not
silently become a grant that never expires). A grant pays invoices in its currency issued in
[effective_date, expiry_date); priority (a whole number, default 100) orders a customer's grants,
lower first (docs/credits.md).

A grant_id already in the ledger with the same values is skipped (imported once); with other
values it is an error, and so is one grant_id on two lines with other values. An unknown
customer, a currency the customer is not billed in, a malformed cell: the import stops before
anything is written, with one line naming the file, line and column. The ledger is created if
there is none yet (a customer may buy credit before its first invoice).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from ..config.tables import bad_id_char
from ..config.workspace import Workspace, load_workspace
from ..core.db import sql
from ..core.errors import BillingError
from ..core.fields import parse_decimal
from ..core.money import currency_digits
from .credits import check
from .import_file import Problems, rows
from .store import Ledger, ledger_path, open_ledger, run, transaction

REQUIRED = ("grant_id", "customer_id", "currency", "amount", "effective_date")
OPTIONAL = ("expiry_date", "priority", "description")
COLUMNS = REQUIRED + OPTIONAL
DEFAULT_PRIORITY = 100
MAX_PRIORITY = 1_000_000
VALUES = ("customer_id", "currency", "amount", "effective_date", "expiry_date", "priority", "description")


@dataclass(frozen=True)
class GrantRow:
    grant_id: str
    customer_id: str
    currency: str
    amount: Decimal
    effective_date: dt.date
    expiry_date: dt.date | None
    priority: int
    description: str
    line: int

    def same_as(self, other: dict) -> bool:
        return all(getattr(self, k) == other[k] for k in VALUES)


@dataclass
class Imported:
    grants: list[GrantRow] = field(default_factory=list)  # new ones
    skipped: list[GrantRow] = field(default_factory=list)  # imported before, same values
    import_seq: int | None = None


def read_grants(path: Path) -> list[GrantRow]:
    """The file's rows as grants, every cell checked; lines naming one grant_id must agree."""
    name = path.name
    problems = Problems(name)
    out: list[GrantRow] = []
    seen: dict[str, GrantRow] = {}
    for n, row in rows(path, COLUMNS, REQUIRED, "[,expiry_date][,priority][,description]", "grant", problems):
        grant = _grant(row, n, problems)
        if grant is None:
            continue
        earlier = seen.get(grant.grant_id)
        if earlier is None:
            seen[grant.grant_id] = grant
            out.append(grant)
        elif not grant.same_as(earlier.__dict__):
            problems.add(n, "grant_id", f"{grant.grant_id!r} is also on line {earlier.line} with other values; "
                                        "a grant id names one grant")
    problems.raise_if_any()
    return out


def _date(row: dict[str, str], column: str, n: int, problems: Problems) -> dt.date | None:
    try:
        return dt.date.fromisoformat(row[column])
    except ValueError:
        problems.add(n, column, f"{row[column]!r} is not a date; write YYYY-MM-DD")
        return None


def _grant(row: dict[str, str], n: int, problems: Problems) -> GrantRow | None:
    before = len(problems.items)
    gid, customer = row["grant_id"], row["customer_id"]
    for column, value in (("grant_id", gid), ("customer_id", customer)):
        if not value:
            problems.add(n, column, "is empty")
        elif bad_id_char(value):
            problems.add(n, column, f"holds the control character {bad_id_char(value)!r}")
    currency = row["currency"].upper()
    digits = currency_digits(currency) if currency else None
    if digits is None:
        problems.add(n, "currency", f"{row['currency']!r} is not an ISO 4217 currency; write e.g. USD")
    amount = parse_decimal(row["amount"]) if row["amount"] else None
    if amount is None or amount <= 0:
        problems.add(n, "amount", f"{row['amount']!r} is not a positive amount; write e.g. 10000.00")
    elif digits is not None and -amount.as_tuple().exponent > digits:
        problems.add(n, "amount", f"{row['amount']} has more decimals than {currency}'s {digits}")
    elif amount.adjusted() >= 30:
        problems.add(n, "amount", f"{row['amount']} is too large")
    effective = _date(row, "effective_date", n, problems)
    expiry = _date(row, "expiry_date", n, problems) if row.get("expiry_date") else None
    if effective and expiry and expiry <= effective:
        problems.add(n, "expiry_date", f"{expiry} is not after the effective_date {effective}; a grant is in effect "
                                       "from its effective_date up to the day before its expiry_date")
    priority = DEFAULT_PRIORITY
    if row.get("priority"):
        text = row["priority"]
        if not text.isdigit() or int(text) > MAX_PRIORITY:
            problems.add(n, "priority", f"{text!r} is not a whole number from 0 to {MAX_PRIORITY} (lower is drawn "
                                        f"first; default {DEFAULT_PRIORITY})")
        else:
            priority = int(text)
    description = row.get("description") or ""
    if bad_id_char(description):
        problems.add(n, "description", f"holds the control character {bad_id_char(description)!r}")
    if len(problems.items) > before:
        return None
    return GrantRow(gid, customer, currency, amount, effective, expiry, priority, description, n)


def billed_currencies(ws: Workspace, ledger: Ledger) -> dict[str, set[str]]:
    """customer -> the currencies it is billed in: its contracts' plans, and its invoices in the ledger."""
    billed: dict[str, set[str]] = {}
    for customer, currency in run(ledger.con, sql("ledger/billed_currencies")):
        billed.setdefault(customer, set()).add(currency)
    for k in ws.contracts.values():
        if k.plan_id in ws.pricebook.plans:
            billed.setdefault(k.customer_id, set()).add(ws.pricebook.plans[k.plan_id].currency)
    return billed


def _check_against(grants: list[GrantRow], ws: Workspace, ledger: Ledger, name: str) -> None:
    problems = Problems(name)
    billed = billed_currencies(ws, ledger)
    for g in grants:
        if g.customer_id not in ws.customers:
            problems.add(g.line, "customer_id", f"unknown customer {g.customer_id!r}; it is not in the workspace's "
                                                "customers")
        elif g.currency not in billed.get(g.customer_id, set()):
            currencies = ", ".join(sorted(billed.get(g.customer_id, set()))) or "no currency yet"
            problems.add(g.line, "currency", f"grant {g.grant_id!r} is in {g.currency}, but customer "
                                             f"{g.customer_id!r} is billed in {currencies}")
    problems.raise_if_any()


def import_grants(workspace: Path, file: Path, *, ledger: Path | None = None, wait: float = 600) -> Imported:
    """Read and check FILE's grants and record the new ones in the ledger in one transaction."""
    file = Path(file)
    grants = read_grants(file)
    ws = load_workspace(workspace)
    path = ledger_path(workspace, ledger)
    if not path.exists():  # checked before the ledger is created: a refused file leaves no ledger behind
        with open_ledger(path, write=False, wait=wait) as led:
            _check_against(grants, ws, led, file.name)
    with open_ledger(path, write=True, wait=wait) as led, \
            transaction(led.con, ["new_credit_grants"]):
        _check_against(grants, ws, led, file.name)
        stored = {r["grant_id"]: r for r in led.con.sql("SELECT * FROM credit_grants").to_arrow_table().to_pylist()}
        done = Imported()
        for g in grants:
            before = stored.get(g.grant_id)
            if before is None:
                done.grants.append(g)
            elif g.same_as(before):
                done.skipped.append(g)
            else:
                raise BillingError(f"{file.name} line {g.line}, grant_id: {g.grant_id!r} was imported before (from "
                                   f"{before['source_file']} line {before['source_line']}) with other values; a grant "
                                   "is imported once (give a new grant another id); nothing was imported")
        if done.grants:
            done.import_seq = run(led.con, sql("ledger/credit_next_import"))[0][0]
            _insert(led, done, file.name)
            check(led)
    return done


def _insert(led: Ledger, done: Imported, source: str) -> None:
    gs = done.grants
    table = pa.table({
        "grant_id": [g.grant_id for g in gs], "customer_id": [g.customer_id for g in gs],
        "currency": [g.currency for g in gs], "amount": pa.array([g.amount for g in gs], pa.decimal128(38, 4)),
        "effective_date": pa.array([g.effective_date for g in gs], pa.date32()),
        "expiry_date": pa.array([g.expiry_date for g in gs], pa.date32()),
        "priority": pa.array([g.priority for g in gs], pa.int32()), "description": [g.description for g in gs],
        "source_file": [source] * len(gs), "source_line": pa.array([g.line for g in gs], pa.int32()),
        "import_seq": pa.array([done.import_seq] * len(gs), pa.int32()),
        "imported_at": pa.array([dt.datetime.now(dt.UTC)] * len(gs), pa.timestamp("us", tz="UTC"))})
    led.con.register("new_credit_grants", table)
    run(led.con, sql("ledger/credit_insert_grants"))
