"""Independent formulas for expected values: never the product's own helpers (round_money, Tier.contains, ...).

Written from the documented rules (README, DATA_CONTRACT.md), so that a bug in the product's helper cannot
make a test's expectation wrong in the same way.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from fractions import Fraction
from math import floor

# The characters a spreadsheet treats as the start of a formula (OWASP CSV injection), listed here by hand.
FORMULA_CHARS = ["=", "+", "-", "@", "\t", "\r"]


def half_away(value, digits: int) -> Decimal:
    """Round once, half away from zero, to `digits` decimals, with integer arithmetic on a Fraction."""
    x = Fraction(str(value)) if isinstance(value, (Decimal, str)) else Fraction(value)
    sign = -1 if x < 0 else 1
    scaled = floor(abs(x) * 10**digits + Fraction(1, 2))
    return Decimal(sign * scaled).scaleb(-digits) if digits else Decimal(sign * scaled)


def volume_tier(tiers: list[dict], q: Decimal) -> dict:
    """The one tier a volume charge's whole quantity falls in: the first whose up_to is >= q (the last has none)."""
    for tier in tiers:
        if "up_to" not in tier or q <= Decimal(str(tier["up_to"])):
            return tier
    raise AssertionError("no open last tier")


def invoice_id(contract_id: str, period_start: str) -> str:
    """README "Ids": in_ + the first 24 hex digits of sha256(contract_id, period_start), the two joined by
    the ASCII unit separator (0x1F), the date in ISO form."""
    return "in_" + hashlib.sha256(f"{contract_id}\x1f{period_start}".encode()).hexdigest()[:24]
