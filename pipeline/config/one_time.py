"""one_time_charges.csv (or .parquet), optional: one-off fees on a contract's invoice (contract section 5).

Each row becomes a `one_time` line on the invoice of the contract's period holding its
date (a local date): amount = round(quantity x unit_price). The line is in the subtotal
(so under discount and tax) but outside the minimum commitment.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..core.errors import ProblemList
from ..core.fields import MAX_DECIMALS
from .tables import OPEN_END, Cells, read_table

STEM = "one_time_charges"
QUANTITY_DECIMALS = 9


@dataclass(frozen=True)
class OneTimeCharge:
    charge_id: str
    contract_id: str
    date: dt.date
    description: str
    quantity: Decimal
    unit_price: Decimal


def load_one_time(root: Path, contracts: dict, problems: ProblemList) -> dict[str, tuple[OneTimeCharge, ...]]:
    """contract_id -> its one-time charges ordered by (date, charge_id); {} without the file."""
    if not (root / f"{STEM}.csv").exists() and not (root / f"{STEM}.parquet").exists():
        return {}
    out: dict[str, list[OneTimeCharge]] = {}
    seen: set[str] = set()
    required = ("charge_id", "contract_id", "date", "description", "unit_price")
    for row in read_table(root, STEM, required, (*required, "quantity")):
        c = Cells(row, problems)
        charge_id, contract_id = c.ident("charge_id"), c.text("contract_id", required=True)
        day = c.date("date", required=True, latest=OPEN_END)
        description = c.text("description", required=True)
        quantity = c.decimal("quantity", Decimal(1), Decimal(0))
        unit_price = c.decimal("unit_price", None, Decimal(0))
        if row.cells.get("unit_price") is None:
            problems.add(row.where, "unit_price is empty", "fill in the price per unit (0 for a free item)")
        if quantity is not None and quantity <= 0:
            problems.add(row.where, f"quantity {quantity} is not above 0", "write a quantity above 0 (default 1)")
        for key, number, places in (("quantity", quantity, QUANTITY_DECIMALS), ("unit_price", unit_price,
                                                                                MAX_DECIMALS)):
            if number is not None and number.as_tuple().exponent < -places:
                problems.add(row.where, f"{key} {number} has more than {places} decimal places", "round it")
        if charge_id in seen:
            problems.add(row.where, f"duplicate charge_id {charge_id!r}",
                         "one-time charge ids must be unique in the file")
        seen.add(charge_id or "")
        contract = contracts.get(contract_id)
        if contract_id and contract is None:
            problems.add(row.where, f"unknown contract_id {contract_id!r}", "use a contract_id of contracts")
        elif contract is not None and day is not None and (
                day < contract.start_date or (contract.end_date is not None and day >= contract.end_date)):
            until = f" before {contract.end_date}" if contract.end_date else ""
            problems.add(row.where, f"date {day} is outside contract {contract_id} "
                                    f"(service from {contract.start_date}{until})",
                         "date the charge inside the contract's service")
        elif contract is not None and day is not None and charge_id and description and unit_price is not None:
            out.setdefault(contract_id, []).append(
                OneTimeCharge(charge_id, contract_id, day, description, quantity or Decimal(1), unit_price))
    return {k: tuple(sorted(v, key=lambda o: (o.date, o.charge_id))) for k, v in sorted(out.items())}
