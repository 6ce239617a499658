"""one_time: a dated charge of a contract, quantity x unit_price (one_time_charges.csv)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .base import Priced


def price(quantity: Decimal, unit_price: Decimal, day: dt.date, detail: bool = False) -> Priced:
    amount = quantity * unit_price
    if not detail:
        return Priced(amount, unit_price)
    return Priced(amount, unit_price, (f"{quantity} x {unit_price} on {day}",),
                  {"quantity": quantity, "unit_price": unit_price, "formula": f"{quantity} x {unit_price}",
                   "exact": amount})
