"""graduated: each unit priced by the tier it falls in, plus the flat_fee of every tier reached.

The first tier's flat_fee is charged even when q is 0; tier k > 0's flat_fee when
q reaches into it (q > its lower bound).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from ..core.fields import Fields
from .base import Priced, Usage
from .tiers import Tier, parse_tiers, tiers_table

NAME = "graduated"
USES_METRIC = True
KEYS = {"tiers"}
QUERY = "price_graduated"  # the same rule over many rows (pipeline/rate/columns.py)


@dataclass(frozen=True)
class Graduated:
    tiers: tuple[Tier, ...]


def parse(spec: Fields) -> Graduated:
    return Graduated(parse_tiers(spec))


def reached(charge: Graduated, q: Decimal) -> list[tuple[int, Tier, Decimal]]:
    """(index, tier, units in it) of every tier q reaches: the first always, tier k when q > its lower bound."""
    out = []
    for k, tier in enumerate(charge.tiers):
        if not (k == 0 or q > tier.lower):
            break
        top = q if tier.up_to is None else min(q, tier.up_to)
        out.append((k, tier, max(top - tier.lower, Decimal(0))))
    return out


def price(charge: Graduated, usage: Usage, detail: bool = False) -> Priced:
    q = usage.quantity
    parts = [(k, t, units, units * t.unit_price) for k, t, units in reached(charge, q)]
    total = sum((u_amount + t.flat_fee for _, t, _, u_amount in parts), Decimal(0))
    if not detail:
        return Priced(total)
    steps = tuple(f"tier {k + 1}: {units} x {t.unit_price} + {t.flat_fee} = {u_amount + t.flat_fee}"
                  for k, t, units, u_amount in parts)
    tiers = [{"tier": k + 1, "from": t.lower, "up_to": t.up_to, "units": units, "unit_price": t.unit_price,
              "units_amount": u_amount, "flat_fee": t.flat_fee, "amount": u_amount + t.flat_fee}
             for k, t, units, u_amount in parts]
    return Priced(total, None, steps, {"quantity": q, "tiers": tiers,
                                       "formula": "sum over the tiers reached of units x unit_price + flat_fee",
                                       "exact": total})


def params_table(charges: list[tuple[int, Graduated]]) -> pa.Table:
    """sql/price_graduated.sql's parameters: the charges' tiers (tiers.tiers_table)."""
    return tiers_table([(k, c.tiers) for k, c in charges])
