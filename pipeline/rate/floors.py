"""floors: a charge's min_amount and a contract's minimum_commitment, each prorated and rounded.

Both raise what was charged to a floor: floor = round(value x proration factor) to the currency's
minor unit; when the charged total is below it, a line tops it up by floor - charged (contract
section 3: a `minimum` line per usage charge, a `commitment` line per invoice).
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from ..core.money import round_money
from .base import Priced, fraction


def minimum(min_amount: Decimal, charged: Decimal, factor: Fraction, digits: int, detail: bool = False,
            ) -> Priced | None:
    """The `minimum` top-up of a usage charge whose lines total `charged`, or None when they reach it."""
    exact = min_amount if factor == 1 else Fraction(min_amount) * factor  # pragma: no mutate - same value either way
    floor = round_money(exact, digits)
    if charged >= floor and not detail:
        return None
    top = floor - charged
    if not detail:
        return Priced(top)
    return Priced(top, None, (f"min_amount {min_amount} x {factor}",),
                  {"min_amount": min_amount, "proration_factor": fraction(factor), "floor": floor,
                   "charge_lines_total": charged, "formula": f"round({min_amount} x {fraction(factor)}) - {charged}",
                   "exact": top})


def commitment(minimum_commitment: Decimal, charged: Decimal, factor: Fraction, digits: int,
               detail: bool = False) -> Priced | None:
    """The `commitment` top-up of an invoice whose charge lines total `charged` (one-time charges
    are outside it), or None when they reach it."""
    exact = minimum_commitment if factor == 1 else Fraction(minimum_commitment) * factor  # pragma: no mutate - same
    floor = round_money(exact, digits)
    if charged >= floor and not detail:
        return None
    top = floor - charged
    if not detail:
        return Priced(top)
    return Priced(top, None, (f"minimum_commitment {minimum_commitment} x {factor}",),
                  {"minimum_commitment": minimum_commitment, "proration_factor": fraction(factor), "floor": floor,
                   "charges_subtotal": charged,
                   "formula": f"round({minimum_commitment} x {fraction(factor)}) - {charged}", "exact": top})
