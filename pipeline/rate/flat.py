"""flat: a fixed amount per period, times the period's proration factor (unless prorate: false)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ..core.fields import Fields
from ..core.money import to_decimal
from .base import Priced, Usage

NAME = "flat"
USES_METRIC = False
KEYS = {"amount", "prorate"}


@dataclass(frozen=True)
class Flat:
    amount: Decimal
    prorate: bool = True


def parse(spec: Fields) -> Flat:
    return Flat(amount=spec.decimal("amount") or Decimal(0), prorate=spec.boolean("prorate", True))


def price(charge: Flat, usage: Usage) -> Priced:
    if not charge.prorate or usage.factor == 1:
        return Priced(charge.amount, charge.amount)
    exact = to_decimal(usage.factor * Fraction(charge.amount))
    return Priced(exact, charge.amount, (f"{charge.amount} x {usage.factor} (proration)",))
