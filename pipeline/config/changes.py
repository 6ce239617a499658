"""Changes to a charge list from a date: plan versions and contract entries (contract section 5).

A change is read and checked for shape here; what it does to a charge list is
pipeline/config/terms.py. A plan version must have `effective_from`; a contract
entry without one starts at the contract's start_date (effective_from None).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..core.errors import ProblemList
from ..core.fields import Fields

UNSET = object()  # a contract field the entry does not change
CHANGE_KEYS = {"effective_from", "charges", "remove_charges", "add_charges", "description"}
CONTRACT_KEYS = CHANGE_KEYS | {"discount_percent", "minimum_commitment"}


@dataclass(frozen=True)
class Change:
    where: str  # where the change is written: `contract_terms.yaml: acme-1[2]`
    label: str  # what people read: `plan growth_usd version 2027-01-01`, `contract acme-1 terms from start`
    effective_from: dt.date | None
    charges: tuple[tuple[str, dict], ...]  # charge id -> the fields that change (None removes a field)
    remove_charges: tuple[str, ...]
    add_charges: tuple[object, ...]  # charge mappings, checked when applied
    discount_percent: object = UNSET  # Decimal (None: no discount) or UNSET
    minimum_commitment: object = UNSET  # Decimal, None (no commitment) or UNSET
    order: int = 0  # position in its file, for equal dates


def parse_date(value: object) -> dt.date | None:
    """A date from YAML: an unquoted date or an ISO string; None when it is neither."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_change(raw: object, where: str, label: str, problems: ProblemList, *, contract: bool,
                 order: int = 0) -> Change | None:
    """One plan version (contract=False) or contract entry (contract=True), or None when unusable."""
    if not isinstance(raw, dict):
        problems.add(where, f"must be a mapping, got {raw!r}",
                     "write `- effective_from: 2027-01-01` followed by charges, remove_charges or add_charges")
        return None
    f = Fields(raw, where, problems)
    f.unknown_keys(CONTRACT_KEYS if contract else CHANGE_KEYS)
    day = None
    if raw.get("effective_from") is not None:
        day = parse_date(raw["effective_from"])
        if day is None:
            problems.add(where, f"effective_from {raw['effective_from']!r} is not a date", "write it as YYYY-MM-DD")
            return None
    elif not contract:
        problems.add(where, "effective_from is missing", "add `effective_from: YYYY-MM-DD` to every plan version")
        return None
    charges = raw.get("charges") or {}
    if not isinstance(charges, dict) or not all(isinstance(v, dict) for v in charges.values()):
        problems.add(where, f"charges must map a charge id to the fields that change, got {charges!r}",
                     "write `charges: {platform_fee: {amount: 59}}`")
        charges = {}
    changed = []
    for cid, fields in charges.items():
        if "id" in fields and str(fields["id"]) != str(cid):
            problems.add(f"{where}: charges[{cid}]", "id cannot be changed",
                         "remove the charge and add a new one (remove_charges, add_charges)")
            continue
        changed.append((str(cid), dict(fields)))
    add = raw.get("add_charges") or []
    if not isinstance(add, list):
        problems.add(where, f"add_charges must be a list of charges, got {add!r}",
                     "write `add_charges: [{id: sso, model: flat, amount: 25}]`")
        add = []
    discount, commitment = UNSET, UNSET
    if contract and "discount_percent" in raw:
        discount = f.decimal("discount_percent", required=False, default=None, maximum=Decimal(100))
    if contract and "minimum_commitment" in raw:
        commitment = f.decimal("minimum_commitment", required=False, default=None)
    return Change(where, label, day, tuple(changed), f.string_list("remove_charges"), tuple(add),
                  discount, commitment, order)


def plan_versions(raw: object, where: str, plan_id: str, problems: ProblemList) -> tuple[Change, ...]:
    """A plan's `versions`, in order of effective_from (equal dates: file order)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(where, f"versions must be a list, got {raw!r}", "write `versions: [{effective_from: ...}]`")
        return ()
    out = []
    for i, item in enumerate(raw):
        day = parse_date(item.get("effective_from")) if isinstance(item, dict) else None
        vwhere = f"{where}: versions[{day or i}]"
        change = parse_change(item, vwhere, f"plan {plan_id} version {day}", problems, contract=False, order=i)
        if change is not None:
            out.append(change)
    return tuple(sorted(out, key=lambda c: (c.effective_from, c.order)))
