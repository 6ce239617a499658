"""volume: q * unit_price of the one tier q falls in, plus that tier's flat_fee (q = 0: first tier)."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.fields import Fields
from .base import Priced, Usage
from .tiers import Tier, parse_tiers

NAME = "volume"
USES_METRIC = True
KEYS = {"tiers"}


@dataclass(frozen=True)
class Volume:
    tiers: tuple[Tier, ...]


def parse(spec: Fields) -> Volume:
    return Volume(parse_tiers(spec))


def price(charge: Volume, usage: Usage) -> Priced:
    q = usage.quantity
    k, tier = next(((k, t) for k, t in enumerate(charge.tiers) if t.contains(q, first=k == 0)),
                   (0, charge.tiers[0]))  # negative q (a falling weighted level) prices at the first tier
    steps = (f"tier {k + 1}: {q} x {tier.unit_price} + {tier.flat_fee}",)
    return Priced(q * tier.unit_price + tier.flat_fee, tier.unit_price, steps)
