"""per_unit: max(q - free_units, 0) * unit_price."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from ..core.fields import Fields
from ..core.money import QUANTITY_SCALE
from .base import Priced, Usage
from .columns import exact_column

NAME = "per_unit"
USES_METRIC = True
KEYS = {"unit_price", "free_units"}
QUERY = "price_per_unit"  # the same rule over many rows (pipeline/rate/columns.py)


@dataclass(frozen=True)
class PerUnit:
    unit_price: Decimal
    free_units: Decimal = Decimal(0)  # pragma: no mutate - a default parse() always overrides


def parse(spec: Fields) -> PerUnit:
    return PerUnit(unit_price=spec.decimal("unit_price") or Decimal(0),
                   free_units=spec.decimal("free_units", required=False, default=Decimal(0)))


def price(charge: PerUnit, usage: Usage, detail: bool = False) -> Priced:
    q = usage.quantity
    billable = max(q - charge.free_units, Decimal(0))
    amount = billable * charge.unit_price
    if not detail:
        return Priced(amount, charge.unit_price)
    return Priced(amount, charge.unit_price,
                  (f"{billable} billable units ({charge.free_units} free) x {charge.unit_price}",),
                  {"quantity": q, "free_units": charge.free_units, "billable_units": billable,
                   "unit_price": charge.unit_price,
                   "formula": f"max({q} - {charge.free_units}, 0) x {charge.unit_price}",
                   "exact": amount})


def params_table(charges: list[tuple[int, PerUnit]]) -> pa.Table:
    """sql/price_per_unit.sql's parameters: one row per charge (its charge_key)."""
    return pa.table({"charge_key": pa.array([k for k, _ in charges], pa.int32()),
                     "unit_price": exact_column([c.unit_price for _, c in charges]),
                     "free_units": exact_column([c.free_units for _, c in charges], QUANTITY_SCALE)})
