"""What every charge model shares: the usage it prices and the priced result."""
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


@dataclass(frozen=True)
class Priced:
    """An exact, unrounded amount and how it came about."""

    amount: Decimal
    unit_price: Decimal | None = None  # set when one price applies to the whole quantity
    steps: tuple[str, ...] = field(default=())  # human-readable pricing steps (tiers, packages)
