"""floors: a charge's min_amount and a contract's minimum_commitment, each prorated and rounded.

Both raise what was charged to a floor, by the one rule `_top_up`: floor = round(value x proration
factor) to the currency's minor unit; when the charged total is below it, a line tops it up by
floor - charged (contract section 3: a `minimum` line per usage charge, a `commitment` line per
invoice). The two differ only in the names their explanation gives the figures.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from ..core.money import round_money
from .base import Priced, fraction


def _top_up(name: str, value: Decimal, charged: Decimal, factor: Fraction, digits: int, detail: bool,
            charged_name: str) -> Priced | None:
    exact = value if factor == 1 else Fraction(value) * factor  # pragma: no mutate - the same value either way
    floor = round_money(exact, digits)
    if charged >= floor and not detail:
        return None
    top = floor - charged
    if not detail:
        return Priced(top)
    return Priced(top, None, (f"{name} {value} x {factor}",),
                  {name: value, "proration_factor": fraction(factor), "floor": floor, charged_name: charged,
                   "formula": f"round({value} x {fraction(factor)}) - {charged}", "exact": top})


def minimum(min_amount: Decimal, charged: Decimal, factor: Fraction, digits: int, detail: bool = False,
            ) -> Priced | None:
    """The `minimum` top-up of a usage charge whose lines total `charged`, or None when they reach it."""
    return _top_up("min_amount", min_amount, charged, factor, digits, detail, "charge_lines_total")


def commitment(minimum_commitment: Decimal, charged: Decimal, factor: Fraction, digits: int,
               detail: bool = False) -> Priced | None:
    """The `commitment` top-up of an invoice whose charge lines total `charged` (one-time charges
    are outside it), or None when they reach it."""
    return _top_up("minimum_commitment", minimum_commitment, charged, factor, digits, detail, "charges_subtotal")
