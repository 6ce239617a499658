"""What every charge model shares: the usage it prices and the priced result.

Each pricing rule is one function that computes the amount; asked with `detail=True` the same
function also returns how the amount came about (`steps` for people, `terms` for explain), from
the same variables: there is no second implementation to keep equal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True)
class Usage:
    """The metered facts one charge line is priced from."""

    quantity: Decimal  # metric quantity (9 fractional digits)
    factor: Fraction  # proration factor of the period (1 for a full period)
    event_amount: Decimal | None = None  # percentage: exact sum of per-event costs, rated in SQL
    events: int = 0  # pragma: no mutate - events the metric counted (percentage's explanation names them)


@dataclass(frozen=True)
class Priced:
    """An exact, unrounded amount; with detail, how it came about."""

    amount: Decimal
    unit_price: Decimal | None = None  # set when one price applies to the whole quantity
    steps: tuple[str, ...] = field(default=())  # detail: human-readable pricing steps (tiers, packages)
    terms: dict | None = None  # detail: the figures and formula the amount follows from (`exact` = amount)


def fraction(f: Fraction) -> str:
    """15/31, or 1 for a whole period."""
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
