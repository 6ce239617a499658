"""terms: the charges, discount and commitment that price one contract's period (contract section 5).

A period is priced with the terms in force on its first day (period_start, local date):
the plan's charges, then each plan version with effective_from <= period_start, then each
of the contract's entries in contract_terms.yaml whose effective_from (default: the
contract's start_date) <= period_start, both in date order (equal dates: file order).

Applying a change: `charges` merges fields into the charge of that id (a null field is
removed, `tiers` replaced whole; naming `model` keeps only id, name, metric and
min_amount of the old charge), then `remove_charges`, then `add_charges`. A contract
entry's discount_percent and minimum_commitment replace the contract's values.

Charge lists are built once per (plan, versions applied, contract, entries applied) and
shared, so a book of many contracts without terms costs one list per plan version.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..core.errors import ProblemList
from .changes import UNSET, Change, parse_change, parse_date
from .pricebook import Charge, Metric, Plan, Pricebook, items_with_ids, parse_charge
from .yamlsafe import load_yaml

TERMS_FILE = "contract_terms.yaml"
KEEP_ON_MODEL_CHANGE = ("id", "name", "metric", "min_amount")


@dataclass(frozen=True)
class Terms:
    """What prices one period of a contract."""

    charges: tuple[Charge, ...]
    discount_percent: Decimal
    minimum_commitment: Decimal | None
    sources: tuple[str, ...]  # the plan, then every change applied, in order (labels)
    discount_source: str = "contracts.csv"  # who set discount_percent: contracts.csv or a contract entry
    commitment_source: str = "contracts.csv"

    def line_source(self, line_type: str, charge_id: str | None) -> str | None:
        """What set the prices of an invoice line of this period (None for lines no term prices)."""
        if line_type == "one_time":
            return "one_time_charges"
        if line_type == "commitment":
            return self.commitment_source
        if line_type == "discount":
            return self.discount_source
        return next((c.source for c in self.charges if c.id == charge_id), None)

    def metric_ids(self) -> set[str]:
        return {c.metric_id for c in self.charges if c.metric_id}

    def metered_event_types(self, metrics: dict[str, Metric]) -> set[str]:
        return {metrics[c.metric_id].event_type for c in self.charges if c.metric_id in metrics}


# A charge list being changed: (charge id, fields, where they were last written, source label)
_Item = tuple[str, dict, str, str]


class TermsBook:
    """The terms in force for any contract and day; every charge list checked once."""

    def __init__(self, pricebook: Pricebook, entries: dict[str, tuple[Change, ...]]):
        self.pricebook = pricebook
        self.entries = entries  # contract_id -> its entries, in order of (date or start, file order)
        self._raw: dict[tuple, tuple[list[_Item], tuple[str, ...]]] = {}
        self._charges: dict[tuple, tuple[Charge, ...]] = {}
        self._parsed: dict[tuple[str, str], Charge] = {}

    # -- which changes apply -------------------------------------------------------------
    def _entry_dates(self, contract) -> list[dt.date]:  # config.workspace.Contract
        entries = self.entries.get(contract.contract_id)
        return [e.effective_from or contract.start_date for e in entries] if entries else []

    def change_dates(self, contract) -> list[dt.date]:
        """Every date at which a change to this contract's terms is dated (plan versions, entries)."""
        plan = self.pricebook.plans.get(contract.plan_id)
        versions = [v.effective_from for v in plan.versions] if plan else []
        return sorted(set(versions + self._entry_dates(contract)))

    def _key(self, contract, day: dt.date) -> tuple:
        plan = self.pricebook.plans[contract.plan_id]
        nv = sum(1 for v in plan.versions if v.effective_from <= day)
        ne = sum(1 for d in self._entry_dates(contract) if d <= day)
        return (plan.id, nv, contract.contract_id if ne else None, ne)

    def at(self, contract, day: dt.date, problems: ProblemList | None = None) -> Terms:
        """The terms in force on `day` for `contract` (its plan must exist)."""
        own = problems is None
        problems = ProblemList() if own else problems
        key = self._key(contract, day)
        charges = self._charge_list(key, problems)
        discount, commitment = contract.discount_percent, contract.minimum_commitment
        by_discount = by_commitment = "contracts.csv"
        for entry in self.entries.get(contract.contract_id, ())[:key[3]]:
            if entry.discount_percent is not UNSET:
                discount = entry.discount_percent if entry.discount_percent is not None else Decimal(0)
                by_discount = entry.label
            if entry.minimum_commitment is not UNSET:
                commitment, by_commitment = entry.minimum_commitment, entry.label
        if own:
            problems.raise_if_any()
        return Terms(charges, discount, commitment, self._raw[key][1], by_discount, by_commitment)

    # -- building charge lists -----------------------------------------------------------
    def _raw_list(self, key: tuple, problems: ProblemList) -> tuple[list[_Item], tuple[str, ...]]:
        if key in self._raw:
            return self._raw[key]
        plan_id, nv, contract_id, ne = key
        plan: Plan = self.pricebook.plans[plan_id]
        if ne:
            items, sources = self._raw_list((plan_id, nv, contract_id, ne - 1) if ne > 1 else (plan_id, nv, None, 0),
                                            problems)
            change = self.entries[contract_id][ne - 1]
        elif nv:
            items, sources = self._raw_list((plan_id, nv - 1, None, 0), problems)
            change = plan.versions[nv - 1]
        else:
            base = [(str(c["id"]), dict(c), f"pricebook.yaml: plans[{plan_id}]: charges[{c['id']}]", f"plan {plan_id}")
                    for c in plan.raw_charges]
            self._raw[key] = (base, (f"plan {plan_id}",))
            return self._raw[key]
        self._raw[key] = (_apply(items, change, problems), sources + (change.label,))
        return self._raw[key]

    def _charge_list(self, key: tuple, problems: ProblemList) -> tuple[Charge, ...]:
        if key in self._charges:
            return self._charges[key]
        if key[1] == 0 and key[3] == 0:  # the plan's own charges, already parsed with the pricebook
            self._raw_list(key, problems)
            self._charges[key] = self.pricebook.plans[key[0]].charges
            return self._charges[key]
        items, _ = self._raw_list(key, problems)
        out = []
        for _cid, fields, where, source in items:
            memo = (where, repr(fields))
            if memo not in self._parsed:
                self._parsed[memo] = parse_charge(where, fields, self.pricebook.metrics, problems, source)
            out.append(self._parsed[memo])
        self._charges[key] = tuple(out)
        return self._charges[key]

    def check(self, contracts: dict, problems: ProblemList) -> None:
        """Every charge list that some date puts in force, each problem named where it was written."""
        for plan in self.pricebook.plans.values():
            for nv in range(1, len(plan.versions) + 1):
                self._charge_list((plan.id, nv, None, 0), problems)
        for contract_id in self.entries:
            k = contracts[contract_id]
            if k.plan_id not in self.pricebook.plans:
                continue
            for day in [k.start_date] + self.change_dates(k):
                if day >= k.start_date and (k.end_date is None or day < k.end_date):
                    self._charge_list(self._key(k, day), problems)


def _apply(items: list[_Item], change: Change, problems: ProblemList) -> list[_Item]:
    """The charge list after one change (problems named at the change)."""
    out = list(items)
    for cid, fields in change.charges:
        where = f"{change.where}: charges[{cid}]"
        at = next((i for i, item in enumerate(out) if item[0] == cid), None)
        if at is None:
            problems.add(where, f"no charge {cid!r} is in force here",
                         f"change one of {', '.join(i[0] for i in out) or '(none)'}, or add it with add_charges")
            continue
        old = out[at][1]
        merged = {k: old[k] for k in KEEP_ON_MODEL_CHANGE if k in old} if "model" in fields else dict(old)
        merged.update(fields)
        merged = {k: v for k, v in merged.items() if v is not None}
        merged["id"] = cid
        out[at] = (cid, merged, where, change.label)
    for cid in change.remove_charges:
        if not any(item[0] == cid for item in out):
            problems.add(f"{change.where}: remove_charges", f"no charge {cid!r} is in force here",
                         f"remove one of {', '.join(i[0] for i in out) or '(none)'}")
        out = [item for item in out if item[0] != cid]
    for where, item in items_with_ids(list(change.add_charges), change.where, "add_charges", problems):
        if any(i[0] == item["id"] for i in out):
            problems.add(where, f"charge {item['id']!r} is already in force",
                         "change it with `charges:` or use another id")
            continue
        out.append((item["id"], dict(item), where, change.label))
    return out


def load_terms(root: Path, pricebook: Pricebook, contracts: dict, problems: ProblemList) -> TermsBook:
    """contract_terms.yaml (optional), checked against the contracts; every charge list validated."""
    path = root / TERMS_FILE
    entries: dict[str, tuple[Change, ...]] = {}
    raw = load_yaml(path) if path.exists() else None
    if raw is not None and not isinstance(raw, dict):
        problems.add(TERMS_FILE, "must map a contract_id to a list of entries",
                     "write `acme-1:` followed by `- charges: ...` entries")
        raw = None
    for contract_id, items in (raw or {}).items():
        contract_id = str(contract_id)
        where = f"{TERMS_FILE}: {contract_id}"
        if contract_id not in contracts:
            problems.add(where, f"unknown contract {contract_id!r}",
                         "use a contract_id of contracts, or remove the entry")
            continue
        if items is None:
            continue
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            problems.add(where, f"must be a list of entries, got {items!r}", "write `- effective_from: ...` entries")
            continue
        start = contracts[contract_id].start_date
        parsed = []
        for i, item in enumerate(items):
            day = parse_date(item.get("effective_from")) if isinstance(item, dict) else None
            ewhere = f"{where} entry {i + 1} (from {day or 'start_date'})"
            change = parse_change(item, ewhere, "", problems, contract=True, order=i)
            if change is not None:
                day = change.effective_from or start
                label = f"contract {contract_id} terms from {day}"
                parsed.append(Change(change.where, label, change.effective_from, change.charges,
                                     change.remove_charges, change.add_charges, change.discount_percent,
                                     change.minimum_commitment, i))
        entries[contract_id] = tuple(sorted(parsed, key=lambda c: (c.effective_from or start, c.order)))
    book = TermsBook(pricebook, entries)
    book.check(contracts, problems)
    return book


