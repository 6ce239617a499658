"""graduated: each unit priced by the tier it falls in, plus the flat_fee of every tier reached.

The first tier's flat_fee is charged even when q is 0; tier k > 0's flat_fee when
q reaches into it (q > its lower bound).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..core.fields import Fields
from .base import Priced, Usage
from .tiers import Tier, parse_tiers

NAME = "graduated"
USES_METRIC = True
KEYS = {"tiers"}


@dataclass(frozen=True)
class Graduated:
    tiers: tuple[Tier, ...]


def parse(spec: Fields) -> Graduated:
    return Graduated(parse_tiers(spec))


def price(charge: Graduated, usage: Usage) -> Priced:
    q = usage.quantity
    total = Decimal(0)
    steps: list[str] = []
    for k, tier in enumerate(charge.tiers):
        reached = k == 0 or q > tier.lower
        if not reached:
            break
        top = q if tier.up_to is None else min(q, tier.up_to)
        units = max(top - tier.lower, Decimal(0))
        amount = units * tier.unit_price + tier.flat_fee
        total += amount
        steps.append(f"tier {k + 1}: {units} x {tier.unit_price} + {tier.flat_fee} = {amount}")
    return Priced(total, None, tuple(steps))
