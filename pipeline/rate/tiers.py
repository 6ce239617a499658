"""Tier tables shared by graduated and volume pricing.

`up_to` bounds are cumulative and strictly increasing; tier k covers
(up_to[k-1], up_to[k]], the first tier covers [0, up_to[0]]; the last tier has no
`up_to` (no upper bound).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from ..core.fields import Fields
from ..core.money import QUANTITY_SCALE
from .columns import exact_column


@dataclass(frozen=True)
class Tier:
    lower: Decimal  # exclusive lower bound (0 for the first tier, inclusive there)
    up_to: Decimal | None  # inclusive upper bound; None = unbounded
    unit_price: Decimal
    flat_fee: Decimal

    def contains(self, q: Decimal, first: bool) -> bool:
        # The tiers are asked in order, the first that holds q wins and the first tier is the fallback,
        # so >= or > at a lower bound picks the same tier: those mutants are equivalent.
        above = q >= self.lower if first else q > self.lower  # pragma: no mutate - see above
        return above and (self.up_to is None or q <= self.up_to)


def parse_tiers(spec: Fields) -> tuple[Tier, ...]:
    raw = spec.raw.get("tiers")
    if not isinstance(raw, list) or not raw:
        spec.problems.add(spec.where, "tiers must be a non-empty list",
                          "add `tiers: [{up_to: 100, unit_price: 0.1}, {unit_price: 0.05}]`")
        return ()  # pragma: no mutate - the error path: the problem is recorded, the pricebook refused
    tiers: list[Tier] = []
    lower = Decimal(0)
    for k, item in enumerate(raw):
        where = f"{spec.where}.tiers[{k}]"
        if not isinstance(item, dict):
            spec.problems.add(where, f"a tier must be a mapping, got {item!r}")
            continue
        t = Fields(item, where, spec.problems)
        t.unknown_keys({"up_to", "unit_price", "flat_fee"})
        last = k == len(raw) - 1
        up_to = t.decimal("up_to", required=False)
        if up_to is None and not last:
            spec.problems.add(where, "only the last tier may omit up_to", "give every tier but the last an up_to bound")
        if up_to is not None and last:
            spec.problems.add(where, f"the last tier has up_to {up_to}", "remove it: the last tier has no upper bound")
        if up_to is not None and (up_to <= lower and k > 0 or up_to < lower):
            spec.problems.add(where, f"up_to {up_to} is not above the previous bound {lower}",
                              "tiers must be strictly increasing")
        unit_price = t.decimal("unit_price") or Decimal(0)
        flat_fee = t.decimal("flat_fee", required=False, default=Decimal(0))
        tiers.append(Tier(lower, up_to, unit_price, flat_fee))
        lower = up_to if up_to is not None else lower
    return tuple(tiers)


def tiers_table(charges: list[tuple[int, tuple[Tier, ...]]]) -> pa.Table:
    """The tier tables of many charges as one table (sql/price_graduated.sql, sql/price_volume.sql): one
    row per charge (its charge_key) and tier k (0 first), up_to null for the last."""
    rows = [(key, k, t) for key, tiers in charges for k, t in enumerate(tiers)]
    bounds = exact_column([t.up_to for _, _, t in rows if t.up_to is not None], QUANTITY_SCALE)
    return pa.table({"charge_key": pa.array([r[0] for r in rows], pa.int32()),
                     "k": pa.array([r[1] for r in rows], pa.int32()),
                     "lower": exact_column([t.lower for _, _, t in rows], QUANTITY_SCALE),
                     "up_to": pa.array([t.up_to for _, _, t in rows], bounds.type),
                     "unit_price": exact_column([t.unit_price for _, _, t in rows]),
                     "flat_fee": exact_column([t.flat_fee for _, _, t in rows])})
