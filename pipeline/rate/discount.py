"""discount: a contract's discount_percent of the subtotal, rounded once, as a negative line."""
from __future__ import annotations

from decimal import Decimal

from ..core.money import round_money
from .base import Priced

HUNDRED = Decimal(100)


def discount(subtotal: Decimal, percent: Decimal, digits: int, detail: bool = False) -> Priced:
    """amount: the invoice's discount_total, round(subtotal x percent / 100); its line is 0 - amount."""
    exact = subtotal * percent / HUNDRED
    total = round_money(exact, digits)
    if not detail:
        return Priced(total)
    return Priced(total, None, (), {"discount_percent": percent, "subtotal": subtotal,
                                     "formula": f"-round({subtotal} x {percent}% )", "exact_discount": exact,
                                     "discount_total": total, "exact": -total})
