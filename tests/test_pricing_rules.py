"""The rules around the charge models, each one function in pipeline/rate/: floors (min_amount,
minimum_commitment), discount, one-time charges. Expected values are computed by hand in the comments."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from pipeline.rate import floors, one_time
from pipeline.rate.discount import discount

D = Decimal
ONE = Fraction(1)


@pytest.mark.parametrize(("min_amount", "charged", "factor", "digits", "top"), [
    (D("10"), D("3.50"), ONE, 2, D("6.50")),  # 10.00 - 3.50
    (D("10"), D("0"), ONE, 2, D("10.00")),
    (D("10"), D("9.99"), ONE, 2, D("0.01")),
    (D("10"), D("10.00"), ONE, 2, None),  # reached exactly: no line
    (D("10"), D("10.01"), ONE, 2, None),
    (D("10"), D("2"), Fraction(15, 30), 2, D("3.00")),  # floor 10 x 1/2 = 5.00, minus 2
    (D("10"), D("0"), Fraction(1, 3), 2, D("3.33")),  # 3.333... rounds to 3.33
    (D("0.05"), D("0"), Fraction(1, 2), 2, D("0.03")),  # 0.025: half away from zero
    (D("1000"), D("0"), Fraction(1, 3), 0, D("333")),  # JPY: 333.33 -> 333
    (D("5"), D("4.9951"), ONE, 2, D("0.0049")),  # the floor is rounded, the top-up is floor - charged exactly
])
def test_minimum_top_up(min_amount, charged, factor, digits, top):
    got = floors.minimum(min_amount, charged, factor, digits)
    assert (None if got is None else got.amount) == top
    if top is not None:
        assert got.terms is None and got.steps == ()  # no detail asked


def test_minimum_detail_is_the_same_computation():
    got = floors.minimum(D("10"), D("2"), Fraction(15, 31), 2, detail=True)
    # floor = round(10 x 15/31 = 4.8387...) = 4.84; top-up 4.84 - 2 = 2.84
    assert got.amount == D("2.84")
    assert got.terms == {"min_amount": D("10"), "proration_factor": "15/31", "floor": D("4.84"),
                         "charge_lines_total": D("2"), "formula": "round(10 x 15/31) - 2", "exact": D("2.84")}
    assert got.steps == ("min_amount 10 x 15/31",)


@pytest.mark.parametrize(("commitment", "charged", "factor", "digits", "top"), [
    (D("100"), D("98.15"), ONE, 2, D("1.85")),
    (D("100"), D("100"), ONE, 2, None),
    (D("100"), D("150"), ONE, 2, None),
    (D("100"), D("10"), Fraction(10, 31), 2, D("22.26")),  # 100 x 10/31 = 32.258 -> 32.26, minus 10
    (D("99.995"), D("0"), ONE, 2, D("100.00")),  # half away from zero
])
def test_commitment_top_up(commitment, charged, factor, digits, top):
    got = floors.commitment(commitment, charged, factor, digits)
    assert (None if got is None else got.amount) == top


def test_commitment_detail_names_what_it_compares():
    got = floors.commitment(D("100"), D("30"), ONE, 2, detail=True)
    assert got.amount == D("70.00")
    assert got.terms == {"minimum_commitment": D("100"), "proration_factor": "1", "floor": D("100.00"),
                         "charges_subtotal": D("30"), "formula": "round(100 x 1) - 30", "exact": D("70.00")}
    assert got.steps == ("minimum_commitment 100 x 1",)


@pytest.mark.parametrize(("subtotal", "percent", "digits", "total"), [
    (D("100.00"), D("10"), 2, D("10.00")),
    (D("33.33"), D("15"), 2, D("5.00")),  # 4.9995 -> 5.00
    (D("33.31"), D("15"), 2, D("5.00")),  # 4.9965 -> 5.00
    (D("33.30"), D("15"), 2, D("5.00")),  # 4.995 -> 5.00 (half away from zero)
    (D("33.29"), D("15"), 2, D("4.99")),  # 4.9935
    (D("1005"), D("10"), 0, D("101")),  # JPY 100.5 -> 101
    (D("0.00"), D("20"), 2, D("0.00")),
    (D("-10.00"), D("15"), 2, D("-1.50")),  # a negative subtotal (falling weighted levels) discounts negatively
])
def test_discount_total(subtotal, percent, digits, total):
    got = discount(subtotal, percent, digits)
    assert got.amount == total and str(got.amount) == str(total)
    assert got.terms is None and got.steps == ()  # a run asks for no detail, and gets none


def test_discount_detail():
    got = discount(D("200.00"), D("12.5"), 2, detail=True)
    assert got.amount == D("25.00")
    assert got.terms == {"discount_percent": D("12.5"), "subtotal": D("200.00"),
                         "formula": "-round(200.00 x 12.5% )", "exact_discount": D("25.000"),
                         "discount_total": D("25.00"), "exact": D("-25.00")}


def test_one_time_is_quantity_times_unit_price():
    got = one_time.price(D("3"), D("2.50"), dt.date(2026, 10, 9))
    assert got.amount == D("7.50") and got.unit_price == D("2.50") and got.steps == ()
    detailed = one_time.price(D("0.5"), D("199"), dt.date(2026, 10, 9), detail=True)
    assert detailed.amount == D("99.5")
    assert detailed.steps == ("0.5 x 199 on 2026-10-09",)
    assert detailed.terms == {"quantity": D("0.5"), "unit_price": D("199"), "formula": "0.5 x 199", "exact": D("99.5")}
