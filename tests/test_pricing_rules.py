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


# -- the charge models asked for detail: the same computation, its terms by hand ------------------------------

def _charge(module, raw):
    from pipeline.core.errors import ProblemList
    from pipeline.core.fields import Fields

    problems = ProblemList()
    params = module.parse(Fields(raw, "charge", problems))
    assert not problems.items
    return params


def test_flat_detail_prorated_full_and_not_prorated():
    from pipeline.rate import flat
    from pipeline.rate.base import Usage

    fee = _charge(flat, {"amount": D("49.00")})
    got = flat.price(fee, Usage(D(0), Fraction(15, 31)), detail=True)
    # 49.00 x 15/31 = 23.709677...
    assert abs(Fraction(got.amount) - Fraction(735, 31)) < Fraction(1, 10**50) and got.unit_price == D("49.00")
    assert got.steps == ("49.00 x 15/31 (proration)",)
    assert got.terms == {"amount": D("49.00"), "prorate": True, "proration_factor": "15/31",
                         "formula": "49.00 x 15/31", "exact": got.amount}
    full = flat.price(fee, Usage(D(0), ONE), detail=True)
    assert (full.amount, full.steps, full.terms["formula"], full.terms["proration_factor"]) == (
        D("49.00"), (), "49.00 (full period)", "1")
    assert str(full.amount) == "49.00"  # a full period is the amount itself, not a product
    fixed = _charge(flat, {"amount": D("49.00"), "prorate": False})
    kept = flat.price(fixed, Usage(D(0), Fraction(15, 31)), detail=True)
    assert (kept.amount, kept.steps, kept.terms["formula"]) == (D("49.00"), (), "49.00 (not prorated)")
    assert flat.price(fee, Usage(D(0), Fraction(15, 31))).terms is None  # no detail asked, none built


def test_per_unit_volume_package_and_percentage_detail():
    from pipeline.rate import package, per_unit, percentage, volume
    from pipeline.rate.base import Usage

    pu = per_unit.price(_charge(per_unit, {"unit_price": D("0.5"), "free_units": D(10)}), Usage(D(25), ONE), True)
    assert pu.amount == D("7.5")  # (25 - 10) x 0.5
    assert pu.terms == {"quantity": D(25), "free_units": D(10), "billable_units": D(15), "unit_price": D("0.5"),
                        "formula": "max(25 - 10, 0) x 0.5", "exact": D("7.5")}
    assert pu.steps == ("15 billable units (10 free) x 0.5",)
    tiers = {"tiers": [{"up_to": 100, "unit_price": D("0.1")}, {"unit_price": D("0.05"), "flat_fee": D(2)}]}
    vo = volume.price(_charge(volume, tiers), Usage(D(150), ONE), True)
    assert vo.amount == D("9.5")  # all 150 at tier 2: 150 x 0.05 + 2
    assert (vo.terms["tier"], vo.terms["from"], vo.terms["up_to"], vo.terms["formula"]) == (
        2, D(100), None, "150 x 0.05 + 2 (all units at tier 2)")
    pk = package.price(_charge(package, {"package_size": D(100), "package_price": D(3), "free_units": D(50)}),
                       Usage(D(251), ONE), True)
    assert pk.amount == D(9)  # ceil((251 - 50) / 100) = 3 packages x 3
    assert (pk.terms["billable_units"], pk.terms["packages"], pk.terms["formula"]) == (
        D(201), D(3), "ceil(201 / 100) = 3 packages x 3")
    pc = percentage.price(_charge(percentage, {"percent": D("2.9"), "fixed_fee": D("0.30")}),
                          Usage(D(100), ONE, D("12.34"), events=4), True)
    assert pc.amount == D("12.34") and pc.terms["exact"] == D("12.34")
    assert pc.terms["formula"].startswith("sum over the 4 events of 2.9% x chargeable amount + 0.30")
    assert percentage.price(_charge(percentage, {"percent": D(1)}), Usage(D(1), ONE)).amount == D(0)  # no events


def test_which_models_take_a_metric_and_their_parse_defaults():
    from pipeline import rate
    from pipeline.rate import package, per_unit, percentage

    assert {name: m.USES_METRIC for name, m in rate.MODELS.items()} == {
        "flat": False, "per_unit": True, "graduated": True, "volume": True, "package": True, "percentage": True}
    p = _charge(percentage, {"percent": D(1)})
    assert (p.fixed_fee, p.per_event_min, p.per_event_max, p.free_events, p.free_amount) == (0, None, None, None, None)
    assert _charge(per_unit, {"unit_price": D(1)}).free_units == 0
    assert _charge(package, {"package_size": D(10), "package_price": D(1)}).free_units == 0


def test_every_model_builds_no_detail_unless_asked():
    from pipeline.rate import graduated, package, per_unit, percentage, volume
    from pipeline.rate.base import Usage

    tiers = {"tiers": [{"up_to": 10, "unit_price": D(1)}, {"unit_price": D("0.5"), "flat_fee": D(2)}]}
    for module, raw in ((per_unit, {"unit_price": D(1)}), (graduated, tiers), (volume, tiers),
                        (package, {"package_size": D(10), "package_price": D(1)}), (percentage, {"percent": D(1)})):
        plain = module.price(_charge(module, raw), Usage(D(12), ONE, D(0)))
        assert plain.terms is None and plain.steps == (), module.NAME
    g = graduated.price(_charge(graduated, tiers), Usage(D(12), ONE), detail=True)
    # tier 1: 10 x 1 = 10; tier 2: 2 x 0.5 + 2 = 3
    assert [(t["tier"], t["units"], t["amount"]) for t in g.terms["tiers"]] == [(1, D(10), D(10)), (2, D(2), D(3))]
    assert g.amount == D(13) and g.terms["exact"] == D(13)


def test_volume_prices_a_negative_level_at_the_first_tier():
    """A falling weighted_sum level can make q negative: the first tier prices it, and says so."""
    from pipeline.rate import volume
    from pipeline.rate.base import Usage

    tiers = {"tiers": [{"up_to": 10, "unit_price": D(2)}, {"unit_price": D(1)}]}
    got = volume.price(_charge(volume, tiers), Usage(D(-5), ONE), detail=True)
    assert got.amount == D(-10) and got.terms["tier"] == 1 and got.steps == ("tier 1: -5 x 2 + 0",)
