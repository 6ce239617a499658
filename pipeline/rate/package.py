"""package: ceil(max(q - free_units, 0) / package_size) * package_price."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import pyarrow as pa

from ..core.fields import Fields
from ..core.money import EXACT, QUANTITY_SCALE
from .base import Priced, Usage
from .columns import exact_column

NAME = "package"
USES_METRIC = True
KEYS = {"package_size", "package_price", "free_units"}
QUERY = "price_package"  # the same rule over many rows (pipeline/rate/columns.py)


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


def params_table(charges: list[tuple[int, Package]]) -> pa.Table:
    """sql/price_package.sql's parameters: one row per charge (its charge_key), the package size as a
    whole number of units of 10^-S (size_units), S the places of the quantities (9) or of the sizes
    (unit_scale = 10^S), so that the query counts packages in integers."""
    free = exact_column([c.free_units for _, c in charges], QUANTITY_SCALE)
    sizes = [c.package_size for _, c in charges]
    scale = max(QUANTITY_SCALE, exact_column(sizes).type.scale)
    return pa.table({"charge_key": pa.array([k for k, _ in charges], pa.int32()), "free_units": free,
                     "package_price": exact_column([c.package_price for _, c in charges]),
                     "size_units": exact_column([s.scaleb(scale) for s in sizes]),
                     "unit_scale": exact_column([Decimal(1).scaleb(scale)] * len(charges))})
