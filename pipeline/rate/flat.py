"""flat: a fixed amount per period, times the period's proration factor (unless prorate: false)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ..core.fields import Fields
from ..core.money import to_decimal
from .base import Priced, Usage, fraction

NAME = "flat"
USES_METRIC = False
KEYS = {"amount", "prorate"}


@dataclass(frozen=True)
class Flat:
    amount: Decimal
    prorate: bool = True  # pragma: no mutate - a default parse() always overrides


def parse(spec: Fields) -> Flat:
    amount = spec.decimal("amount") or Decimal(0)  # pragma: no mutate - a missing amount is refused
    return Flat(amount=amount, prorate=spec.boolean("prorate", True))


def price(charge: Flat, usage: Usage, detail: bool = False) -> Priced:
    prorated = charge.prorate and usage.factor != 1
    amount = to_decimal(usage.factor * Fraction(charge.amount)) if prorated else charge.amount
    if not detail:
        return Priced(amount, charge.amount)
    f = fraction(usage.factor)
    formula = (f"{charge.amount} x {f}" if prorated else f"{charge.amount} (not prorated)" if usage.factor != 1
               else f"{charge.amount} (full period)")
    return Priced(amount, charge.amount, (f"{charge.amount} x {usage.factor} (proration)",) if prorated else (),
                  {"amount": charge.amount, "prorate": charge.prorate, "proration_factor": f, "formula": formula,
                   "exact": amount})
