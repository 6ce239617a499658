"""The usage models' queries (sql/price_<model>.sql through pipeline/rate/columns.py) against their
price() functions: same rounded amount, unit price and line head for every row, random charges and
quantities (tier bounds, free units, package multiples, negative weighted levels, tiny and huge
quantities); what DECIMAL(38) cannot hold is NotColumnar, and the run then prices by price()."""
from __future__ import annotations

import subprocess
import sys
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from conftest import run_bill
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.errors import ProblemList
from pipeline.core.fields import Fields
from pipeline.core.money import EXACT, round_money, show_quantity
from pipeline.rate import columns, graduated, package, per_unit, percentage, volume
from pipeline.rate.base import Usage

D = Decimal
GENERATE = Path(__file__).parent / "tools" / "generate.py"


def build(module, raw: dict):
    problems = ProblemList()
    charge = module.parse(Fields(raw, "test: charge", problems))
    assert problems.items == [], problems.items
    return charge


def rows_table(rows: list[tuple[int, int, Decimal, Decimal | None]]) -> pa.Table:
    return pa.table({"charge_key": pa.array([r[0] for r in rows], pa.int32()),
                     "digits": pa.array([r[1] for r in rows], pa.int32()),
                     "quantity": pa.array([r[2] for r in rows], pa.decimal128(38, 9)),
                     "event_amount": pa.array([r[3] for r in rows], pa.decimal128(38, 12))})


def by_price(charges: dict, heads: dict, rows: list) -> list[tuple]:
    """What the Python rules give each row: round_money of price(), the unit price, the head."""
    out = []
    with localcontext(EXACT):
        for key, digits, q, event_amount in rows:
            module, params = charges[key]
            priced = module.price(params, Usage(q, Fraction(1), event_amount))
            out.append((round_money(priced.amount, digits), priced.unit_price,
                        heads[key][0] + show_quantity(q) + heads[key][1]))
    return out


def by_query(charges: dict, heads: dict, rows: list) -> list[tuple]:
    con = duckdb.connect()
    try:
        t = columns.price_rows(con, rows_table(rows), charges, heads)
    finally:
        con.close()
    return list(zip(t["amount"].to_pylist(), t["unit_price"].to_pylist(), t["head"].to_pylist()))


def assert_same(charges: dict, rows: list) -> None:
    heads = {k: (f"c{k}: ", " units") for k in charges}
    got, want = by_query(charges, heads, rows), by_price(charges, heads, rows)
    for row, g, w in zip(rows, got, want):
        assert g[0] == w[0] and g[1] == w[1] and g[2] == w[2], (row, charges[row[0]], g, w)
    assert len(got) == len(want)


CHARGES = {
    0: (per_unit, build(per_unit, {"unit_price": "0.085"})),
    1: (per_unit, build(per_unit, {"unit_price": "1.123456789012", "free_units": "100.5"})),
    2: (graduated, build(graduated, {"tiers": [{"up_to": 100, "unit_price": "0.09", "flat_fee": 5},
                                               {"up_to": 1000, "unit_price": "0.075"},
                                               {"unit_price": "0.06", "flat_fee": "0.5"}]})),
    3: (volume, build(volume, {"tiers": [{"up_to": 0, "unit_price": 3}, {"up_to": "10.25", "unit_price": "0.2"},
                                         {"unit_price": "0.15", "flat_fee": 7}]})),
    4: (package, build(package, {"package_size": "2.5", "package_price": "9.99", "free_units": 3})),
    5: (package, build(package, {"package_size": 1000, "package_price": 4})),
    6: (percentage, build(percentage, {"percent": "2.9", "fixed_fee": "0.30"})),
}
EDGES = [D(x) for x in ("0", "0.000000001", "0.0000005", "0.00099949", "0.0009995", "0.1", "0.99949", "0.9995", "1",
                        "1.005", "1.004999999", "2.999", "3", "5.5", "10.25", "10.250000001", "100", "100.000000001",
                        "100.5", "999.995", "1000", "1000.000000001", "2500", "2500.000000001", "-0.5", "-1.005",
                        "-250", "12345678901.123456789")]


@pytest.mark.parametrize("digits", [0, 2, 3, 4])
def test_every_model_at_the_edges_equals_price(digits):
    rows = [(k, digits, q, D("12.345678912345") if CHARGES[k][0] is percentage else None)
            for k in CHARGES for q in EDGES]
    rows += [(6, digits, D(1), None), (6, digits, D(3), D("-0.000000000005"))]  # no event amount: 0
    assert_same(CHARGES, rows)


quantities = st.decimals(min_value=D("-1000"), max_value=D("1e12"), places=9, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=D("0"), max_value=D("1000"), places=6, allow_nan=False, allow_infinity=False)


@st.composite
def tiers(draw):
    bounds = sorted(set(draw(st.lists(st.decimals(min_value=D("0.5"), max_value=D("1e6"), places=3), min_size=0,
                                      max_size=4))))
    items = [{"up_to": str(b), "unit_price": str(draw(prices)), "flat_fee": str(draw(prices))} for b in bounds]
    return items + [{"unit_price": str(draw(prices)), "flat_fee": str(draw(prices))}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=prices, free=st.decimals(min_value=D("0"), max_value=D("1e6"), places=4),
       size=st.decimals(min_value=D("0.001"), max_value=D("1e4"), places=3), grad=tiers(), vol=tiers(),
       qs=st.lists(quantities, min_size=1, max_size=12), digits=st.sampled_from([0, 2, 3]))
def test_random_charges_and_quantities_equal_price(unit, free, size, grad, vol, qs, digits):
    charges = {0: (per_unit, build(per_unit, {"unit_price": str(unit), "free_units": str(free)})),
               1: (graduated, build(graduated, {"tiers": grad})),
               2: (volume, build(volume, {"tiers": vol})),
               3: (package, build(package, {"package_size": str(size), "package_price": str(unit),
                                            "free_units": str(free)}))}
    bounds = [D(t["up_to"]) for t in grad + vol if "up_to" in t]  # exactly at a bound, and just above it
    qs = qs + bounds + [b + D("0.000000001") for b in bounds] + [size * 3, size * 3 + free]
    assert_same(charges, [(k, digits, q, None) for k in charges for q in qs])


def test_a_product_beyond_decimal_38_is_not_columnar():
    charges = {0: (per_unit, build(per_unit, {"unit_price": "123456.123456789012"}))}
    with pytest.raises(columns.NotColumnar):
        by_query(charges, {0: ("", "")}, [(0, 2, D("99999999999999999999.5"), None)])


@pytest.mark.parametrize("raw, why", [
    ({"unit_price": "1", "free_units": "0.0000000001"}, "more than 9 places"),  # a bound past the quantities' 9
])
def test_parameters_beyond_the_queries_are_not_columnar(raw, why):
    with pytest.raises(columns.NotColumnar, match=why):
        by_query({0: (per_unit, build(per_unit, raw))}, {0: ("", "")}, [(0, 2, D(1), None)])


def test_a_currency_of_more_than_four_digits_is_not_columnar():
    with pytest.raises(columns.NotColumnar):
        by_query({0: CHARGES[0]}, {0: ("", "")}, [(0, 5, D(1), None)])


def test_the_run_prices_what_is_not_columnar_by_price(tmp_path, monkeypatch):
    """A generated month billed with every row refused by the queries (the run then prices by price())
    gives the same tables as the run that prices them by the queries."""
    ws = tmp_path / "ws"
    subprocess.run([sys.executable, str(GENERATE), "--customers", "60", "--events", "8000", str(ws)], check=True,
                   capture_output=True)
    priced = run_bill(ws)
    calls = []

    def refuse(*args):
        calls.append(args)
        raise columns.NotColumnar("refused by the test")

    monkeypatch.setattr(columns, "price_rows", refuse)
    fallback = run_bill(ws)
    assert calls, "the run did not ask the queries"
    for name in ("invoices", "lines", "usage"):
        assert getattr(fallback, name).equals(getattr(priced, name)), name
    assert priced.lines.num_rows > 200
