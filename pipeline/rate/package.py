"""package: ceil(max(q - free_units, 0) / package_size) * package_price."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from ..core.fields import Fields
from ..core.money import EXACT
from .base import Priced, Usage

NAME = "package"
USES_METRIC = True
KEYS = {"package_size", "package_price", "free_units"}


@dataclass(frozen=True)
class Package:
    package_size: Decimal
    package_price: Decimal
    free_units: Decimal = Decimal(0)  # pragma: no mutate - a default parse() always overrides


def parse(spec: Fields) -> Package:
    size = spec.decimal("package_size")
    if size is not None and size <= 0:
        spec.problems.add(spec.where, f"package_size must be above 0, got {size}")
        size = None
    price = spec.decimal("package_price") or Decimal(0)  # pragma: no mutate - a missing price is refused
    return Package(package_size=size or Decimal(1),  # pragma: no mutate - a bad size is refused
                   package_price=price, free_units=spec.decimal("free_units", required=False, default=Decimal(0)))


def price(charge: Package, usage: Usage, detail: bool = False) -> Priced:
    q = usage.quantity
    billable = max(q - charge.free_units, Decimal(0))
    packages = EXACT.divide(billable, charge.package_size).to_integral_value(rounding=ROUND_CEILING)
    amount = packages * charge.package_price
    if not detail:
        return Priced(amount)
    formula = f"ceil({billable} / {charge.package_size}) = {packages} packages x {charge.package_price}"
    return Priced(amount, None, (formula,),
                  {"quantity": q, "free_units": charge.free_units, "billable_units": billable,
                   "package_size": charge.package_size, "packages": packages, "package_price": charge.package_price,
                   "formula": formula, "exact": amount})
