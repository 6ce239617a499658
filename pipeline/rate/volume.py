"""volume: q * unit_price of the one tier q falls in, plus that tier's flat_fee (q = 0: first tier)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from ..core.fields import Fields
from .base import Priced, Usage
from .tiers import Tier, parse_tiers, tiers_table

NAME = "volume"
USES_METRIC = True
KEYS = {"tiers"}
QUERY = "price_volume"  # the same rule over many rows (pipeline/rate/columns.py)


@dataclass(frozen=True)
class Volume:
    tiers: tuple[Tier, ...]


def parse(spec: Fields) -> Volume:
    return Volume(parse_tiers(spec))


def tier_of(charge: Volume, q: Decimal) -> tuple[int, Tier]:
    """The tier q falls in; a negative q (a falling weighted level) prices at the first tier."""
    # tier 0 is also the fallback, so `first` only decides what the fallback gives anyway (equivalent mutants)
    return next(((k, t) for k, t in enumerate(charge.tiers) if t.contains(q, first=k == 0)),  # pragma: no mutate
                (0, charge.tiers[0]))


def price(charge: Volume, usage: Usage, detail: bool = False) -> Priced:
    q = usage.quantity
    k, tier = tier_of(charge, q)
    amount = q * tier.unit_price + tier.flat_fee
    if not detail:
        return Priced(amount, tier.unit_price)
    return Priced(amount, tier.unit_price, (f"tier {k + 1}: {q} x {tier.unit_price} + {tier.flat_fee}",),
                  {"quantity": q, "tier": k + 1, "from": tier.lower, "up_to": tier.up_to,
                   "unit_price": tier.unit_price, "flat_fee": tier.flat_fee,
                   "formula": f"{q} x {tier.unit_price} + {tier.flat_fee} (all units at tier {k + 1})",
                   "exact": amount})


def params_table(charges: list[tuple[int, Volume]]) -> pa.Table:
    """sql/price_volume.sql's parameters: the charges' tiers (tiers.tiers_table)."""
    return tiers_table([(k, c.tiers) for k, c in charges])
