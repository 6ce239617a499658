"""per_unit: max(q - free_units, 0) * unit_price."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..core.fields import Fields
from .base import Priced, Usage

NAME = "per_unit"
USES_METRIC = True
KEYS = {"unit_price", "free_units"}


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
