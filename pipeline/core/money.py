"""Money: exact decimals, currency minor units, one rounding rule.

Rounding is half away from zero to the currency's minor unit (ISO 4217 digits
from the maintained `iso4217` package). This is the only place money is rounded.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from functools import cache

from iso4217 import Currency

# Enough digits that no product or quotient of config values loses precision.
EXACT = Context(prec=60, rounding=ROUND_HALF_UP)  # pragma: no mutate - more digits change no rounded result
QUANTITY_SCALE = 9  # quantities keep 9 fractional digits (contract section 1)
MONEY_SCALE = 4  # Parquet money columns: DECIMAL(38, 4) holds every ISO 4217 minor unit


@cache
def currency_digits(code: str) -> int | None:
    """Minor-unit digits of an ISO 4217 currency, or None when the code is not a currency with a minor unit."""
    try:
        exponent = Currency(code).exponent
    except ValueError:
        return None
    return exponent


_QUANTUM = {d: Decimal(1).scaleb(-d) for d in range(13)}  # pragma: no mutate - quantize reads only the exponent


def round_money(value: Decimal | Fraction, digits: int) -> Decimal:
    """Round once, half away from zero, to `digits` fractional digits."""
    if type(value) is not Decimal and isinstance(value, Fraction):  # a Decimal skips the slow ABC check
        with localcontext(EXACT):
            value = Decimal(value.numerator) / Decimal(value.denominator)
    rounded = value.quantize(_QUANTUM[digits], rounding=ROUND_HALF_UP, context=EXACT)
    return rounded if rounded else abs(rounded)  # never "-0.00"


def round_quantity(value: Decimal | Fraction) -> Decimal:
    """Quantities (and proration factors shown as quantities) keep 9 fractional digits."""
    return round_money(value, QUANTITY_SCALE)


def to_decimal(value: Fraction) -> Decimal:
    """An exact-enough Decimal of a Fraction, for products that are rounded later."""
    with localcontext(EXACT):
        return Decimal(value.numerator) / Decimal(value.denominator)


def format_money(value: Decimal, digits: int) -> str:
    """Exactly `digits` fractional digits, as accounting CSV imports expect."""
    return f"{round_money(value, digits):f}"


def show_quantity(value: Decimal) -> str:
    """A quantity as people read it on documents (the data keeps 9 digits): whole numbers as they
    are, 2 decimal places from 1 up (24.43), 3 significant digits below 1 (0.00457); rounded half
    away from zero, trailing zeros dropped."""
    if value == value.to_integral_value():
        return f"{value.to_integral_value():f}"
    if abs(value) >= 1:  # pragma: no mutate - an integral 1 returned above; below 10, 2 places = 3 digits
        shown = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    else:
        digits3 = value.adjusted() - 2  # 3 significant digits
        shown = value.quantize(Decimal(1).scaleb(digits3), rounding=ROUND_HALF_UP)  # pragma: no mutate - exponent only
    text = f"{shown:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
