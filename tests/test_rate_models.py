"""Hand-computed tables for every charge model in pipeline/rate/ (DATA_CONTRACT.md section 1, "Charge models").

Charges are built the way the pricebook loader builds them: `module.parse(Fields(raw, where, ProblemList()))`,
then priced with `module.price(charge, Usage(quantity, factor, event_amount))`. Every expected amount is
exact (Decimal equality), computed by hand from the contract's formulas.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from independent import half_away, volume_tier

from pipeline import rate
from pipeline.core.errors import ProblemList
from pipeline.core.fields import Fields
from pipeline.rate import flat, graduated, package, per_unit, percentage, volume
from pipeline.rate.base import Usage

D = Decimal
ONE = Fraction(1)


def build(module, raw: dict):
    """Parse a charge dict with the model's own parser; a valid dict must record no problem."""
    problems = ProblemList()
    charge = module.parse(Fields(raw, "test: charge", problems))
    assert problems.items == [], problems.items
    return charge


def problems_of(module, raw: dict) -> list[str]:
    problems = ProblemList()
    module.parse(Fields(raw, "test: charge", problems))
    return problems.items


def amount(module, raw: dict, q, factor=ONE, event_amount=None) -> Decimal:
    return module.price(build(module, raw), Usage(D(q), factor, event_amount)).amount


# --------------------------------------------------------------------------------------------------------------
# registry

def test_registry_knows_every_model():
    assert set(rate.MODELS) == {"flat", "per_unit", "graduated", "volume", "package", "percentage"}
    assert rate.model("volume") is volume
    with pytest.raises(KeyError, match="unknown charge model 'tiered'"):
        rate.model("tiered")


# --------------------------------------------------------------------------------------------------------------
# flat: amount x proration factor (unless prorate: false)

@pytest.mark.parametrize(
    "raw, factor, exact, rounded",
    [
        ({"amount": D("49.00")}, Fraction(1), Fraction(49), D("49.00")),
        ({"amount": D("49.00")}, Fraction(20, 31), Fraction(980, 31), D("31.61")),  # 31.6129...
        ({"amount": D("100")}, Fraction(1, 3), Fraction(100, 3), D("33.33")),
        ({"amount": D("100")}, Fraction(2, 3), Fraction(200, 3), D("66.67")),
        ({"amount": D("10")}, Fraction(1, 8), Fraction(5, 4), D("1.25")),
        ({"amount": D("0.01")}, Fraction(1, 2), Fraction(1, 200), D("0.01")),  # 0.005 rounds half away from zero
        ({"amount": D("300")}, Fraction(22, 365), Fraction(6600, 365), D("18.08")),  # 18.0821...
        ({"amount": D("49.00"), "prorate": True}, Fraction(12, 92), Fraction(588, 92), D("6.39")),  # 6.3913...
        ({"amount": D("49.00"), "prorate": False}, Fraction(20, 31), Fraction(49), D("49.00")),
        ({"amount": D("49.00"), "prorate": False}, Fraction(1), Fraction(49), D("49.00")),
    ],
)
def test_flat(raw, factor, exact, rounded):
    priced = flat.price(build(flat, raw), Usage(D(0), factor))
    assert abs(Fraction(priced.amount) - exact) < Fraction(1, 10**40)  # exact to far beyond any minor unit
    assert half_away(priced.amount, 2) == rounded
    assert priced.unit_price == raw["amount"]  # a flat line shows the charge's amount as its unit price


def test_flat_full_period_is_exactly_the_amount():
    assert amount(flat, {"amount": "49.00"}, 0, Fraction(1)) == D("49.00")


def test_flat_ignores_quantity():
    assert amount(flat, {"amount": "7"}, 12345) == D(7)


def test_flat_rejects_non_boolean_prorate():
    assert problems_of(flat, {"amount": 1, "prorate": "yes"}) == [
        "test: charge: prorate must be true or false, got 'yes'"]


# --------------------------------------------------------------------------------------------------------------
# per_unit: max(q - free_units, 0) x unit_price

@pytest.mark.parametrize(
    "raw, q, expected",
    [
        ({"unit_price": D("0.12")}, "0", D("0")),
        ({"unit_price": D("0.12")}, "1", D("0.12")),
        ({"unit_price": D("0.12")}, "10", D("1.2")),
        ({"unit_price": D("0.12")}, "0.5", D("0.06")),
        ({"unit_price": D("0.12")}, "0.000000001", D("0.00000000012")),
        ({"unit_price": D("0.1")}, "3", D("0.3")),  # exact decimal, not 0.30000000000000004
        ({"unit_price": D("0.25"), "free_units": 100}, "0", D("0")),
        ({"unit_price": D("0.25"), "free_units": 100}, "50", D("0")),
        ({"unit_price": D("0.25"), "free_units": 100}, "100", D("0")),
        ({"unit_price": D("0.25"), "free_units": 100}, "101", D("0.25")),
        ({"unit_price": D("0.25"), "free_units": 100}, "1000.5", D("225.125")),
        ({"unit_price": D("0.25"), "free_units": D("0.5")}, "1", D("0.125")),
        ({"unit_price": 0}, "1000", D("0")),
    ],
)
def test_per_unit(raw, q, expected):
    priced = per_unit.price(build(per_unit, raw), Usage(D(q), ONE))
    assert priced.amount == expected
    assert priced.unit_price == D(raw["unit_price"])  # one price applies to the whole quantity


def test_per_unit_is_not_prorated():
    assert amount(per_unit, {"unit_price": "2"}, "10", Fraction(1, 2)) == D(20)


def test_per_unit_negative_price_is_a_problem():
    assert problems_of(per_unit, {"unit_price": D("-0.12")}) == [
        "test: charge: unit_price = -0.12 is below 0; prices and limits cannot be negative"]


# --------------------------------------------------------------------------------------------------------------
# graduated: each unit priced by its tier, plus the flat_fee of every tier reached (first tier's fee always)

PRICEBOOK_TIERS = {"tiers": [
    {"up_to": 1000, "unit_price": 0},
    {"up_to": 100000, "unit_price": D("0.001"), "flat_fee": 5},
    {"unit_price": D("0.0005")},
]}

FEE_TIERS = {"tiers": [
    {"up_to": 10, "unit_price": 2, "flat_fee": 3},
    {"up_to": 20, "unit_price": 1, "flat_fee": 7},
    {"unit_price": D("0.5"), "flat_fee": 1},
]}


@pytest.mark.parametrize(
    "raw, q, expected",
    [
        # the pricebook example of DATA_CONTRACT.md
        (PRICEBOOK_TIERS, "0", D("0")),
        (PRICEBOOK_TIERS, "999", D("0")),
        (PRICEBOOK_TIERS, "1000", D("0")),  # exactly on up_to: still tier 1, tier 2's flat_fee not reached
        (PRICEBOOK_TIERS, "1000.5", D("5.0005")),  # 0.5 x 0.001 + 5
        (PRICEBOOK_TIERS, "1001", D("5.001")),  # 1 x 0.001 + 5
        (PRICEBOOK_TIERS, "100000", D("104")),  # 99000 x 0.001 + 5
        (PRICEBOOK_TIERS, "100001", D("104.0005")),
        (PRICEBOOK_TIERS, "250000", D("179")),  # 104 + 150000 x 0.0005
        # flat fees on every tier; the first is charged even at q = 0
        (FEE_TIERS, "0", D("3")),
        (FEE_TIERS, "5", D("13")),  # 5 x 2 + 3
        (FEE_TIERS, "10", D("23")),  # 10 x 2 + 3, tier 2 not reached
        (FEE_TIERS, "10.000000001", D("30.000000001")),  # reaching into tier 2 charges its 7
        (FEE_TIERS, "11", D("31")),  # 23 + 1 x 1 + 7
        (FEE_TIERS, "20", D("40")),  # 23 + 10 x 1 + 7
        (FEE_TIERS, "21", D("41.5")),  # 40 + 1 x 0.5 + 1
        (FEE_TIERS, "30", D("46")),  # 40 + 10 x 0.5 + 1
        # a single unbounded tier is per-unit pricing plus its fee
        ({"tiers": [{"unit_price": D("0.2"), "flat_fee": D("1.5")}]}, "0", D("1.5")),
        ({"tiers": [{"unit_price": D("0.2"), "flat_fee": D("1.5")}]}, "7", D("2.9")),
    ],
)
def test_graduated(raw, q, expected):
    priced = graduated.price(build(graduated, raw), Usage(D(q), ONE))
    assert priced.amount == expected
    assert priced.unit_price is None  # several prices apply


def test_graduated_steps_list_each_tier_reached():
    priced = graduated.price(build(graduated, FEE_TIERS), Usage(D(11), ONE), detail=True)
    assert priced.steps == ("tier 1: 10 x 2 + 3 = 23", "tier 2: 1 x 1 + 7 = 8")  # 10 units then 1, each tier's fee
    assert priced.amount == D(31) and priced.terms["exact"] == D(31)
    assert [t["units"] for t in priced.terms["tiers"]] == [D(10), D(1)]
    assert graduated.price(build(graduated, FEE_TIERS), Usage(D(11), ONE)).steps == ()  # no detail: no steps


def test_graduated_is_not_prorated():
    assert amount(graduated, FEE_TIERS, "11", Fraction(1, 2)) == D(31)


def test_graduated_sums_exactly_then_rounds_once():
    # three tiers of 0.0045 each: rounding per tier would give 0.00 x 3, rounding the total gives 0.01
    raw = {"tiers": [{"up_to": 1, "unit_price": D("0.0045")}, {"up_to": 2, "unit_price": D("0.0045")},
                     {"unit_price": D("0.0045")}]}
    total = amount(graduated, raw, "3")
    assert total == D("0.0135")
    assert half_away(total, 2) == D("0.01")


# --------------------------------------------------------------------------------------------------------------
# volume: q x unit_price of the one tier q falls in, plus that tier's flat_fee; q = 0 is in the first tier

@pytest.mark.parametrize(
    "raw, q, expected, unit_price",
    [
        (FEE_TIERS, "0", D("3"), D("2")),  # first tier: 0 x 2 + 3
        (FEE_TIERS, "1", D("5"), D("2")),
        (FEE_TIERS, "10", D("23"), D("2")),  # exactly on a bound: the lower tier
        (FEE_TIERS, "10.000000001", D("17.000000001"), D("1")),
        (FEE_TIERS, "10.5", D("17.5"), D("1")),  # 10.5 x 1 + 7
        (FEE_TIERS, "11", D("18"), D("1")),
        (FEE_TIERS, "20", D("27"), D("1")),  # exactly on a bound: the lower tier
        (FEE_TIERS, "21", D("11.5"), D("0.5")),  # 21 x 0.5 + 1
        (FEE_TIERS, "100", D("51"), D("0.5")),
        (PRICEBOOK_TIERS, "0", D("0"), D("0")),
        (PRICEBOOK_TIERS, "1000", D("0"), D("0")),
        (PRICEBOOK_TIERS, "1001", D("6.001"), D("0.001")),  # 1001 x 0.001 + 5
        (PRICEBOOK_TIERS, "100000", D("105"), D("0.001")),
        (PRICEBOOK_TIERS, "100001", D("50.0005"), D("0.0005")),
    ],
)
def test_volume(raw, q, expected, unit_price):
    priced = volume.price(build(volume, raw), Usage(D(q), ONE))
    assert priced.amount == expected
    assert priced.unit_price == unit_price


def test_volume_first_tier_with_zero_upper_bound():
    raw = {"tiers": [{"up_to": 0, "unit_price": 9, "flat_fee": 4}, {"unit_price": 1}]}
    assert amount(volume, raw, "0") == D(4)
    assert amount(volume, raw, "0.5") == D("0.5")


# --------------------------------------------------------------------------------------------------------------
# package: ceil(max(q - free_units, 0) / package_size) x package_price

@pytest.mark.parametrize(
    "raw, q, expected",
    [
        ({"package_size": 100, "package_price": 5}, "0", D("0")),
        ({"package_size": 100, "package_price": 5}, "1", D("5")),
        ({"package_size": 100, "package_price": 5}, "99.999999999", D("5")),
        ({"package_size": 100, "package_price": 5}, "100", D("5")),
        ({"package_size": 100, "package_price": 5}, "100.000000001", D("10")),
        ({"package_size": 100, "package_price": 5}, "250", D("15")),
        ({"package_size": 100, "package_price": 5, "free_units": 50}, "0", D("0")),
        ({"package_size": 100, "package_price": 5, "free_units": 50}, "50", D("0")),
        ({"package_size": 100, "package_price": 5, "free_units": 50}, "51", D("5")),
        ({"package_size": 100, "package_price": 5, "free_units": 50}, "150", D("5")),
        ({"package_size": 100, "package_price": 5, "free_units": 50}, "151", D("10")),
        ({"package_size": D("0.5"), "package_price": 2}, "1.2", D("6")),  # ceil(2.4) = 3 packages
        ({"package_size": 3, "package_price": D("0.99")}, "10", D("3.96")),  # ceil(3.33) = 4
        ({"package_size": 1000, "package_price": D("12.5")}, "1000000", D("12500")),
    ],
)
def test_package(raw, q, expected):
    priced = package.price(build(package, raw), Usage(D(q), ONE))
    assert priced.amount == expected
    assert priced.unit_price is None


@pytest.mark.parametrize("size", [0, -5])
def test_package_size_must_be_positive(size):
    items = problems_of(package, {"package_size": size, "package_price": 1})
    assert len(items) == 1 and "package_size" in items[0]


# --------------------------------------------------------------------------------------------------------------
# percentage: the per-event work is done in SQL; price() reports the summed event amount

@pytest.mark.parametrize(
    "raw, event_amount, expected",
    [
        ({"percent": D("2.9"), "fixed_fee": D("0.30")}, D("12.345678"), D("12.345678")),
        ({"percent": D("2.9")}, D("0"), D("0")),
        ({"percent": 1, "per_event_min": D("0.5"), "per_event_max": 10}, D("1234.5"), D("1234.5")),
        ({"percent": 1}, None, D("0")),  # no events: nothing to charge
    ],
)
def test_percentage_returns_event_amount(raw, event_amount, expected):
    priced = percentage.price(build(percentage, raw), Usage(D("999"), Fraction(1, 2), event_amount))
    assert priced.amount == expected
    assert priced.unit_price is None


def test_percentage_parses_every_field():
    charge = build(percentage, {"percent": D("2.9"), "fixed_fee": D("0.30"), "per_event_min": D("0.5"),
                                "per_event_max": 10, "free_events": 3, "free_amount": 100})
    assert charge == percentage.Percentage(D("2.9"), D("0.30"), D("0.5"), D(10), 3, D(100))


@pytest.mark.parametrize(
    "raw, needle",
    [
        ({"percent": 101}, "percent = 101 is above 100"),
        ({"percent": 1, "free_events": D("2.5")}, "free_events must be a whole number"),
        ({"percent": 1, "per_event_min": 5, "per_event_max": 1}, "per_event_min 5 is above per_event_max 1"),
        ({"percent": -1}, "percent = -1 is below 0"),
    ],
)
def test_percentage_bad_parameters(raw, needle):
    items = problems_of(percentage, raw)
    assert any(needle in item for item in items), items


# --------------------------------------------------------------------------------------------------------------
# tier table validation (shared by graduated and volume)

@pytest.mark.parametrize(
    "tiers, needle",
    [
        ([{"up_to": 100, "unit_price": 1}, {"up_to": 100, "unit_price": 1}, {"unit_price": 1}],
         "test: charge.tiers[1]: up_to 100 is not above the previous bound 100"),
        ([{"up_to": 100, "unit_price": 1}, {"up_to": 50, "unit_price": 1}, {"unit_price": 1}],
         "test: charge.tiers[1]: up_to 50 is not above the previous bound 100"),
        ([{"unit_price": 1}, {"unit_price": 2}], "test: charge.tiers[0]: only the last tier may omit up_to"),
        ([{"up_to": 10, "unit_price": 1}], "test: charge.tiers[0]: the last tier has up_to 10"),
        ([{"up_to": 10, "unit_price": -1}, {"unit_price": 1}], "test: charge.tiers[0]: unit_price = -1 is below 0"),
        ([{"up_to": 10, "unit_price": 1, "flat_fee": -2}, {"unit_price": 1}],
         "test: charge.tiers[0]: flat_fee = -2 is below 0"),
        ([{"up_to": 10, "unit_price": 1, "price": 3}, {"unit_price": 1}], "test: charge.tiers[0]: unknown key 'price'"),
        ([], "tiers must be a non-empty list"),
    ],
)
@pytest.mark.parametrize("module", [graduated, volume])
def test_bad_tier_tables(module, tiers, needle):
    items = problems_of(module, {"tiers": tiers})
    assert any(item.startswith(needle) or needle in item for item in items), items


# --------------------------------------------------------------------------------------------------------------
# properties

prices = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=10**7, places=9, allow_nan=False, allow_infinity=False)


@st.composite
def tier_tables(draw):
    n = draw(st.integers(min_value=1, max_value=5))
    bounds = sorted(draw(st.sets(st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False,
                                             allow_infinity=False), min_size=n - 1, max_size=n - 1)))
    tiers = []
    for k in range(n):
        tier = {"unit_price": draw(prices), "flat_fee": draw(prices)}
        if k < n - 1:
            tier["up_to"] = bounds[k]
        tiers.append(tier)
    return {"tiers": tiers}


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(tier_tables(), quantities, quantities)
def test_graduated_never_decreases_as_quantity_grows(raw, q1, q2):
    charge = build(graduated, raw)
    lo, hi = sorted((q1, q2))
    a_lo = graduated.price(charge, Usage(lo, ONE)).amount
    a_hi = graduated.price(charge, Usage(hi, ONE)).amount
    assert D(0) <= a_lo <= a_hi


@FAST
@given(tier_tables(), quantities)
def test_volume_is_never_negative(raw, q):
    charge = build(volume, raw)
    priced = volume.price(charge, Usage(q, ONE))
    assert priced.amount >= 0
    tier = volume_tier(raw["tiers"], q)  # the first tier whose up_to is >= q, written out in the test
    assert priced.amount == q * tier["unit_price"] + tier["flat_fee"]


@FAST
@given(prices, quantities, quantities)
def test_per_unit_is_never_negative(unit_price, free_units, q):
    priced = per_unit.price(build(per_unit, {"unit_price": unit_price, "free_units": free_units}), Usage(q, ONE))
    assert priced.amount >= 0
    assert priced.amount == max(q - free_units, D(0)) * unit_price


@pytest.mark.parametrize("module", [graduated, volume])
def test_null_up_to_on_a_middle_tier_is_a_problem(module):
    tiers = [{"up_to": None, "unit_price": 1}, {"up_to": 10, "unit_price": 2}, {"unit_price": 3}]
    items = problems_of(module, {"tiers": tiers})
    assert any("tiers[0]" in item for item in items), items


def test_explained_steps_number_tiers_from_one():
    raw = {"tiers": [{"up_to": 10, "unit_price": D("1")}, {"unit_price": D("0.5"), "flat_fee": D("2")}]}
    g = graduated.price(build(graduated, raw), Usage(D("12"), ONE), detail=True)
    assert [s.split(":")[0] for s in g.steps] == ["tier 1", "tier 2"] and g.amount == D("10") + D("1") + D("2")
    v = volume.price(build(volume, raw), Usage(D("12"), ONE), detail=True)
    assert v.steps == ("tier 2: 12 x 0.5 + 2",) and v.amount == D("8")
    assert volume.price(build(volume, raw), Usage(D("10"), ONE), detail=True).steps[0].startswith("tier 1: ")


def test_percentage_per_event_min_above_max_is_refused_equal_is_not():
    base = {"percent": D("2")}
    assert any("per_event_min 5 is above per_event_max 1" in p
               for p in problems_of(percentage, {**base, "per_event_min": D("5"), "per_event_max": D("1")}))
    assert problems_of(percentage, {**base, "per_event_min": D("1"), "per_event_max": D("1")}) == []
