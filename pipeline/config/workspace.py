"""The whole workspace configuration, loaded and cross-checked before any event is read.

Every problem is collected and reported at once, each naming file, row or key and the fix.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from itertools import repeat
from pathlib import Path
from typing import NamedTuple, TypeVar

from ..core.errors import ConfigError, ProblemList
from ..core.gcpause import paused_gc
from ..core.tax import TaxRule, tax_id_is_valid, tax_rule
from .one_time import OneTimeCharge, load_one_time
from .pricebook import Plan, Pricebook, load_pricebook
from .settings import Settings, load_settings
from .tables import BILLING_PERIODS, OPEN_END, Cells, Rows, bad_id_char, parsed_once, read_table
from .terms import TERMS_FILE, Terms, TermsBook, load_terms

T = TypeVar("T")


class Customer(NamedTuple):  # a tuple: made 500,000 times by a run, 3x faster than a frozen dataclass
    customer_id: str
    name: str
    country: str
    tax_id: str | None
    tax_exempt: bool
    timezone: str
    payment_terms_days: int
    address: tuple[str | None, ...]  # the cells of ADDRESS_FIELDS (email and address lines), for documents
    send_ubl: bool = False  # `usagebill send` attaches the UBL file to the PDF (optional column, docs/production.md)


class Contract(NamedTuple):  # a tuple, as Customer
    contract_id: str
    customer_id: str
    plan_id: str
    start_date: dt.date
    end_date: dt.date | None
    billing_period: str
    anchor_day: int
    discount_percent: Decimal
    minimum_commitment: Decimal | None
    billed_through: dt.date | None = None  # migration: periods with last day <= it were billed elsewhere


def _made(kind: type[T], *columns: Iterable) -> map:
    """`kind(*values)` for the values of each row of the columns, without a Python call per row (the
    tuple is made by tuple.__new__, which a NamedTuple's own __new__ calls after binding its arguments)."""
    return map(tuple.__new__, repeat(kind), zip(*columns))


@dataclass(frozen=True)
class Workspace:
    root: Path
    pricebook: Pricebook
    customers: dict[str, Customer]
    contracts: dict[str, Contract]
    tax_rates: dict[str, tuple[Decimal, str]]  # country or '*' -> (percent, name)
    config_files: tuple[Path, ...]
    terms: TermsBook | None = None  # plan versions and contract_terms.yaml (pipeline/config/terms.py)
    one_time: dict[str, tuple[OneTimeCharge, ...]] = field(default_factory=dict)  # contract_id -> its charges
    settings: Settings = Settings()  # settings.yaml: billed_through, PDF options
    warnings: tuple[tuple[str, str], ...] = ()  # (code, message) found while loading: tax_id_invalid

    def billed_elsewhere(self, contract: Contract, last_day: dt.date) -> bool:
        """A period ending on last_day was billed by a previous system (billed_through, migration)."""
        through = contract.billed_through or self.settings.billed_through
        return through is not None and last_day <= through

    def plan_of(self, contract: Contract) -> Plan:
        return self.pricebook.plans[contract.plan_id]

    def terms_at(self, contract: Contract, day: dt.date) -> Terms:
        """The charges, discount and commitment in force on `day` (a period's start) for a contract."""
        return self.terms.at(contract, day)

    def all_terms(self, contract: Contract) -> list[Terms]:
        """Every set of terms some date of the contract's life puts in force (the first at start_date)."""
        days = [d for d in self.terms.change_dates(contract)
                if d > contract.start_date and (contract.end_date is None or d < contract.end_date)]
        return [self.terms.at(contract, d) for d in [contract.start_date, *days]]

    @cached_property
    def versioned_plans(self) -> frozenset[str]:
        """The plans with versions (pricebook.yaml `versions:`)."""
        return frozenset(p for p, plan in self.pricebook.plans.items() if plan.versions)

    def unchanging(self, contract: Contract) -> bool:
        """No plan version and no contract entry: its plan's own charges price its whole life."""
        return contract.plan_id not in self.versioned_plans and contract.contract_id not in self.terms.entries

    def unchanging_each(self, contracts: Iterable[Contract]) -> list[bool]:
        """`unchanging` of each contract, without a method call per contract (500k in a run)."""
        versioned, entries = self.versioned_plans, self.terms.entries
        return [k.plan_id not in versioned and k.contract_id not in entries for k in contracts]

    def metric_ids_ever(self, contract: Contract) -> set[str]:
        """The metrics any charge list of the contract's life uses."""
        if self.unchanging(contract):
            return _plan_metric_ids(self.pricebook.plans[contract.plan_id].charges)
        return set().union(*(t.metric_ids() for t in self.all_terms(contract)))

    def metric_ids_of(self, contracts: Iterable[Contract]) -> set[str]:
        """The metrics any charge list of these contracts' lives uses, each charge list looked at once
        (contracts of a plan share its lists)."""
        seen: set[int] = set()
        out: set[str] = set()
        for k in contracts:
            if self.unchanging(k):  # its plan's list only
                charges = self.pricebook.plans[k.plan_id].charges
                if id(charges) not in seen:
                    seen.add(id(charges))
                    out |= _plan_metric_ids(charges)
                continue
            for t in self.all_terms(k):
                if id(t.charges) not in seen:  # the lists live in self.terms' cache: ids stay theirs
                    seen.add(id(t.charges))
                    out |= t.metric_ids()
        return out

    def tax_of(self, customer: Customer) -> TaxRule:
        return self.tax_for(customer.country, customer.tax_id, customer.tax_exempt)

    def tax_for(self, country: str, tax_id: str | None, tax_exempt: bool) -> TaxRule:
        """The tax rule of a customer in this situation (what tax_of reads of a customer)."""
        return tax_rule(customer_country=country, customer_tax_id=tax_id, tax_exempt=tax_exempt,
                        company_country=self.pricebook.company.country, rates=self.tax_rates)


def _plan_metric_ids(charges: tuple) -> set[str]:
    return {c.metric_id for c in charges if c.metric_id}


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


ADDRESS_FIELDS = ("email", "address_line1", "address_line2", "city", "postal_code")
CUSTOMER_COLUMNS = ("customer_id", "name", *ADDRESS_FIELDS, "country", "tax_id", "tax_exempt", "timezone",
                    "payment_terms_days", "send_ubl")
CONTRACT_COLUMNS = ("contract_id", "customer_id", "plan_id", "start_date", "end_date", "billing_period",
                    "billing_anchor_day", "discount_percent", "minimum_commitment", "billed_through")
TAX_RATE_COLUMNS = ("country", "percent", "name")


def _tax_id_warnings(rows: Rows, ids: list, countries: list, tax_ids: list, warnings: list[tuple[str, str]]) -> None:
    for i, (cid, country, tax_id) in enumerate(zip(ids, countries, tax_ids)):
        if tax_id and country and cid and tax_id_is_valid(country, tax_id) is False:
            warnings.append(("tax_id_invalid", f"customer {cid} ({rows.where(i)}): tax_id {tax_id!r} fails the "
                                               f"checksum rules of {country}; taxed as a customer without a valid "
                                               "tax id (no reverse charge) until the number is corrected"))


def _customers_at_once(rows: Rows, warnings: list[tuple[str, str]]) -> dict[str, Customer] | None:
    """customers.csv read column by column, each distinct value checked once (the usual, valid table
    of many customers); None at the first problem: `_customers` then reads row by row, for the messages."""
    col = {k: rows.column(k) for k in CUSTOMER_COLUMNS}
    ids = col["customer_id"]
    if None in ids or None in col["name"] or len(set(ids)) != len(ids) or not _printable(ids):
        return None
    zones = _zones()
    zone = {tz: tz or "UTC" for tz in set(col["timezone"])}
    if any(tz not in zones for tz in zone.values()):
        return None
    country = parsed_once(col["country"], "country", lambda c: c.country("country"))
    exempt = parsed_once(col["tax_exempt"], "tax_exempt", lambda c: c.boolean("tax_exempt", False))
    terms = parsed_once(col["payment_terms_days"], "payment_terms_days",
                        lambda c: c.integer("payment_terms_days", 30, 0, 3650) or 0)
    ubl = parsed_once(col["send_ubl"], "send_ubl", lambda c: c.boolean("send_ubl", False))
    if country is None or exempt is None or terms is None or ubl is None:
        return None
    countries = list(map(country.__getitem__, col["country"]))
    _tax_id_warnings(rows, ids, countries, col["tax_id"], warnings)
    return dict(zip(ids, _made(Customer, ids, col["name"], countries, col["tax_id"],
                               map(exempt.__getitem__, col["tax_exempt"]), map(zone.__getitem__, col["timezone"]),
                               map(terms.__getitem__, col["payment_terms_days"]),
                               zip(*(col[k] for k in ADDRESS_FIELDS)), map(ubl.__getitem__, col["send_ubl"]))))


def _customers(root: Path, problems: ProblemList, warnings: list[tuple[str, str]]) -> dict[str, Customer]:
    rows = read_table(root, "customers", ("customer_id", "name", "country"), CUSTOMER_COLUMNS)
    fast = _customers_at_once(rows, warnings)
    if fast is not None:
        return fast
    out: dict[str, Customer] = {}
    for row in rows:
        c = Cells(row, problems)
        cid = c.ident("customer_id")
        country = c.country("country")
        tz = c.text("timezone") or "UTC"
        if tz not in _zones():
            problems.add(row.where, f"timezone {tz!r} is not an IANA time zone",
                         "use a name such as Europe/Berlin or UTC")
        tax_id = c.text("tax_id")
        if tax_id and country and cid and tax_id_is_valid(country, tax_id) is False:
            warnings.append(("tax_id_invalid", f"customer {cid} ({row.where}): tax_id {tax_id!r} fails the checksum "
                                               f"rules of {country}; taxed as a customer without a valid tax id (no "
                                               "reverse charge) until the number is corrected"))
        if cid in out:
            problems.add(row.where, f"duplicate customer_id {cid!r}", "customer ids must be unique")
        customer = Customer(cid or "", c.text("name", required=True) or "", country, tax_id,
                            c.boolean("tax_exempt", False), tz, c.integer("payment_terms_days", 30, 0, 3650) or 0,
                            tuple(row.cells.get(k) for k in ADDRESS_FIELDS),
                            c.boolean("send_ubl", False))
        if cid and cid not in out:
            out[cid] = customer
    return out


def _contracts_at_once(rows: Rows, pricebook: Pricebook, customers: dict[str, Customer]) -> dict[str, Contract] | None:
    """contracts.csv read column by column, each distinct value checked once; None at the first
    problem: `_contracts` then reads row by row, for the messages."""
    col = {k: rows.column(k) for k in CONTRACT_COLUMNS}
    ids = col["contract_id"]
    if None in ids or len(set(ids)) != len(ids) or not _printable(ids):
        return None
    if any(c is None or c not in customers for c in set(col["customer_id"])) or \
            any(p is None or p not in pricebook.plans for p in set(col["plan_id"])):
        return None
    if any((p or "monthly") not in BILLING_PERIODS for p in set(col["billing_period"])):
        return None
    start = parsed_once(col["start_date"], "start_date", lambda c: c.date("start_date", required=True))
    end = parsed_once(col["end_date"], "end_date", lambda c: c.date("end_date", latest=OPEN_END))
    anchor = parsed_once(col["billing_anchor_day"], "billing_anchor_day",
                         lambda c: c.integer("billing_anchor_day", None, 1, 31))
    discount = parsed_once(col["discount_percent"], "discount_percent",
                           lambda c: c.decimal("discount_percent", Decimal(0), Decimal(0), Decimal(100)))
    commitment = parsed_once(col["minimum_commitment"], "minimum_commitment",
                             lambda c: c.decimal("minimum_commitment", None, Decimal(0)))
    through = parsed_once(col["billed_through"], "billed_through", lambda c: c.date("billed_through"))
    if None in (start, end, anchor, discount, commitment, through):
        return None
    starts, ends = list(map(start.__getitem__, col["start_date"])), list(map(end.__getitem__, col["end_date"]))
    if any(e <= s for s, e in zip(starts, ends) if e is not None):
        return None
    period = {p: p or "monthly" for p in set(col["billing_period"])}
    anchors = [a or s.day for a, s in zip(map(anchor.__getitem__, col["billing_anchor_day"]), starts)]
    return dict(zip(ids, _made(Contract, ids, col["customer_id"], col["plan_id"], starts, ends,
                               map(period.__getitem__, col["billing_period"]), anchors,
                               map(discount.__getitem__, col["discount_percent"]),
                               map(commitment.__getitem__, col["minimum_commitment"]),
                               map(through.__getitem__, col["billed_through"]))))


def _printable(ids: list[str]) -> bool:
    """No id holds a character bad_id_char refuses (one scan of them all for the usual table)."""
    return "".join(ids).isprintable() or all(bad_id_char(i) is None for i in ids)


def _contracts(root: Path, pricebook: Pricebook, customers: dict[str, Customer],
               problems: ProblemList) -> dict[str, Contract]:
    rows = read_table(root, "contracts", ("contract_id", "customer_id", "plan_id", "start_date"), CONTRACT_COLUMNS)
    fast = _contracts_at_once(rows, pricebook, customers)
    if fast is not None:
        return fast
    out: dict[str, Contract] = {}
    for row in rows:
        c = Cells(row, problems)
        kid = c.ident("contract_id")
        customer_id = c.text("customer_id", required=True)
        plan_id = c.text("plan_id", required=True)
        if customer_id and customer_id not in customers:
            problems.add(row.where, f"unknown customer_id {customer_id!r}",
                         "add the customer to customers or fix the id")
        if plan_id and plan_id not in pricebook.plans:
            problems.add(row.where, f"unknown plan_id {plan_id!r}",
                         f"use a plan of pricebook.yaml: {', '.join(sorted(pricebook.plans)) or '(none)'}")
        start, end = c.date("start_date", required=True), c.date("end_date", latest=OPEN_END)
        if start and end and end <= start:
            problems.add(row.where, f"end_date {end} is not after start_date {start}",
                         "end_date is the first day without service (exclusive)")
        period = c.text("billing_period") or "monthly"
        if period not in BILLING_PERIODS:
            problems.add(row.where, f"billing_period {period!r} is unknown", f"use one of {', '.join(BILLING_PERIODS)}")
        anchor = c.integer("billing_anchor_day", None, 1, 31)
        if kid in out:
            problems.add(row.where, f"duplicate contract_id {kid!r}", "contract ids must be unique")
        elif kid:
            out[kid] = Contract(kid, customer_id or "", plan_id or "", start or dt.date(1970, 1, 1), end, period,
                                anchor or (start.day if start else 1),
                                c.decimal("discount_percent", Decimal(0), Decimal(0), Decimal(100)),
                                c.decimal("minimum_commitment", None, Decimal(0)), c.date("billed_through"))
    return out


def _tax_rates(root: Path, problems: ProblemList) -> dict[str, tuple[Decimal, str]]:
    out: dict[str, tuple[Decimal, str]] = {}
    for row in read_table(root, "tax_rates", ("country", "percent"), TAX_RATE_COLUMNS):
        c = Cells(row, problems)
        country = c.country("country", allow_star=True)
        percent = c.decimal("percent", None, Decimal(0), Decimal(100))
        if percent is None and row.cells.get("percent") is None:
            problems.add(row.where, "percent is empty", "fill in the tax percent (20 means 20 %)")
        elif percent is not None and percent.as_tuple().exponent < -6:
            problems.add(row.where, f"percent {percent} has more than 6 decimal places", "round it")
        if country in out:
            problems.add(row.where, f"duplicate tax rate for {country!r}", "keep one row per country")
        out[country] = (percent or Decimal(0), c.text("name") or "")
    return out


def _event_types_ever(ws: Workspace, k: Contract, metrics: dict) -> set[str]:
    return set().union(*(t.metered_event_types(metrics) for t in ws.all_terms(k)))


def _check_overlaps(ws: Workspace, problems: ProblemList) -> None:
    """Two contracts of one customer overlapping in time must not meter the same event_type."""
    by_customer: dict[str, list[Contract]] = {}
    for k in ws.contracts.values():
        by_customer.setdefault(k.customer_id, []).append(k)
    metrics = ws.pricebook.metrics
    for contracts in by_customer.values():
        if len(contracts) < 2:  # the usual customer: one contract, nothing to overlap
            continue
        contracts.sort(key=lambda k: (k.start_date, k.contract_id))
        for i, a in enumerate(contracts):
            for b in contracts[i + 1:]:
                if a.end_date is not None and b.start_date >= a.end_date:
                    continue
                if a.plan_id not in ws.pricebook.plans or b.plan_id not in ws.pricebook.plans:
                    continue
                shared = _event_types_ever(ws, a, metrics) & _event_types_ever(ws, b, metrics)
                if shared:
                    problems.add(f"contracts {a.contract_id} and {b.contract_id}",
                                 f"overlap in time for customer {a.customer_id} and both meter event_type "
                                 f"{', '.join(sorted(shared))}",
                                 f"end {a.contract_id} before {b.contract_id} starts, or meter different event types")


def load_workspace(root: Path) -> Workspace:
    """Read and validate all configuration; raise one ConfigError listing every problem. The cyclic
    garbage collector is paused meanwhile (a million rows of cells are made at once: pipeline/core/gcpause.py)."""
    with paused_gc():
        return _load_workspace(Path(root))


def _load_workspace(root: Path) -> Workspace:
    if not root.is_dir():
        raise ConfigError([f"{root}: workspace folder not found; pass the folder holding pricebook.yaml"])
    problems = ProblemList()
    pricebook = load_pricebook(root / "pricebook.yaml", problems)
    company = pricebook.company
    if company.country and company.tax_id and tax_id_is_valid(company.country, company.tax_id) is False:
        problems.add("pricebook.yaml: company", f"tax_id {company.tax_id!r} fails the checksum rules of "
                                                f"{company.country}", "correct the seller's tax number")
    warnings: list[tuple[str, str]] = []
    customers = _customers(root, problems, warnings)
    contracts = _contracts(root, pricebook, customers, problems)
    rates = _tax_rates(root, problems)
    for c in customers.values():
        if c.country and c.country not in rates and "*" not in rates:
            problems.add("tax_rates", f"no rate for country {c.country} (customer {c.customer_id}) and no '*' row",
                         f"add a row `{c.country},<percent>` or a default row `*,<percent>`")
    terms = load_terms(root, pricebook, contracts, problems)
    one_time = load_one_time(root, contracts, problems)
    files = tuple(p for p in sorted(root.iterdir()) if p.is_file() and (p.stem in
                  ("pricebook", "customers", "contracts", "tax_rates", "one_time_charges") or p.name == TERMS_FILE))
    settings = load_settings(root, problems)
    ws = Workspace(root, pricebook, customers, contracts, rates, files, terms, one_time, settings,
                   tuple(warnings))
    _check_overlaps(ws, problems)
    problems.raise_if_any()
    return ws
