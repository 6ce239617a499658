"""The CSV writer renders columns with Arrow kernels; DuckDB's one-pass COPY (the writer it replaced,
kept for the column types Arrow does not render alike) is the oracle: both must give the same bytes
for any table of the output schemas' column kinds."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.billing import emit

DIGITS = {"USD": 2, "JPY": 0, "KWD": 3, "CLF": 4}
NASTY = ["", "=SUM(A1)", "+1", "-2", "@x", "\tt", "\rr", "a,b", 'q"q', "l\nb", "c\rd", " sp ", "é,ü", "'", "plain",
         '""', ",", "\n"]

texts = st.one_of(st.sampled_from(NASTY), st.text(alphabet=st.sampled_from(list('ab,"\n\r=+-@\t \'é')), max_size=6))


def _money(currency: str, units: int) -> Decimal:
    return Decimal(units).scaleb(-DIGITS[currency])


rows = st.lists(st.tuples(
    st.sampled_from(sorted(DIGITS)), st.integers(-10**14, 10**14),
    st.one_of(st.none(), texts),
    st.one_of(st.none(), st.integers(-10**20, 10**20), st.sampled_from([0, 1, -1, 10, 999_999, 1_000_000]),
              st.sampled_from([10**28, -10**28])),
    st.one_of(st.none(), st.integers(-10**15, 10**15), st.sampled_from([0, 1, -1, 100, 10**12, 999_999])),
    st.one_of(st.none(), st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31))),
    st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)),
    st.one_of(st.none(), st.integers(0, 10**11)),
), min_size=0, max_size=40)


def _table(data: list[tuple]) -> pa.Table:
    return pa.table({
        "currency": pa.array([r[0] for r in data], pa.string()),
        "amount": pa.array([_money(r[0], r[1]) for r in data], emit.MONEY),
        "description": pa.array([r[2] for r in data], pa.string()),
        "quantity": pa.array([None if r[3] is None else Decimal(r[3]).scaleb(-9) for r in data], emit.QUANTITY),
        "unit_price": pa.array([None if r[4] is None else Decimal(r[4]).scaleb(-12) for r in data], emit.PRICE),
        "service_start": pa.array([r[5] for r in data], pa.date32()),
        "line_number": pa.array([r[6] for r in data], pa.int32()),
        "tax_percent": pa.array([None if r[7] is None else Decimal(r[7]).scaleb(-6) for r in data], emit.PERCENT),
    })


def _both(table: pa.Table, tmp_path, digits=DIGITS) -> tuple[bytes, bytes]:
    emit.write_csv(table, tmp_path / "arrow.csv", digits)
    emit._write_csv_duckdb(emit._with_digits(table, digits), tmp_path / "duckdb.csv")
    return (tmp_path / "arrow.csv").read_bytes(), (tmp_path / "duckdb.csv").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_arrow_rendering_gives_duckdbs_bytes(tmp_path, data):
    arrow, duck = _both(_table(data), tmp_path)
    assert arrow == duck


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows, st.sampled_from([None, "XXX"]))
def test_every_column_rendered_once_per_distinct_value_gives_duckdbs_bytes(tmp_path, data, other):
    """The path of repeating values (each distinct value, and each distinct (amount, currency digits)
    of a money column, rendered once) taken for every table, whatever its size: the same bytes, also
    with a currency without digits or none at all."""
    table = _table(data + data[:3])  # a few values twice
    if other and table.num_rows:
        table = table.set_column(0, "currency", pa.array([other] + table["currency"].to_pylist()[1:]))
    if table.num_rows > 1:  # an amount missing
        at = table.schema.get_field_index("amount")
        table = table.set_column(at, "amount", pa.array([None] + table["amount"].to_pylist()[1:], emit.MONEY))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emit, "_BY_VALUE_ROWS", 0)
        patch.setattr(emit, "_BY_VALUE_SHARE", 0)
        arrow, duck = _both(table, tmp_path)
    assert arrow == duck


def test_repeated_values_and_slices_give_duckdbs_bytes(tmp_path, monkeypatch):
    """Past 4096 rows repeated values are rendered once each (dates, prices, line numbers); a table
    is written in slices of rows."""
    monkeypatch.setattr(emit, "_CSV_SLICE", 7_000)
    n = 20_000
    data = [(("USD", "JPY", "KWD")[i % 3], i * 7 - 50_000, NASTY[i % len(NASTY)] if i % 5 else f"id{i}",
             (i % 9) * 10**8 if i % 4 else 0, (i % 3) * 10**11 + (1 if i % 11 == 0 else 0),
             dt.date(2026, 1 + i % 12, 1), i % 17, 19 * 10**6) for i in range(n)]
    arrow, duck = _both(_table(data), tmp_path)
    assert arrow == duck
    assert arrow.count(b"\n") >= n + 1


def test_tiny_quantities_and_prices_are_plain_decimals(tmp_path):
    """Arrow writes 0E-9 and 1.00E-7; the CSV holds 0.000000000 and 0.000000100, as DuckDB writes them."""
    data = [("USD", 0, "x", q, p, None, 1, 0) for q, p in ((0, 0), (100, 1), (-1, -100), (999, 10**6 - 1))]
    arrow, duck = _both(_table(data), tmp_path)
    assert arrow == duck
    lines = arrow.decode().splitlines()
    assert lines[1].split(",")[3:5] == ["0.000000000", "0"]
    assert lines[2].split(",")[3:5] == ["0.000000100", "0.000000000001"]
    assert lines[3].split(",")[3:5] == ["-0.000000001", "-0.0000000001"]


def test_cells_are_neutralized_and_quoted(tmp_path):
    table = pa.table({"description": ["=1+1", "a,b", 'say "hi"', "", None, "two\nlines", "-5"],
                      "n": pa.array(range(7), pa.int64())})
    emit.write_csv(table, tmp_path / "t.csv", {})
    assert (tmp_path / "t.csv").read_bytes() == (b"description,n\n'=1+1,0\n\"a,b\",1\n\"say \"\"hi\"\"\",2\n,3\n,4\n"
                                                 b"\"two\nlines\",5\n'-5,6\n")


@pytest.mark.parametrize("column", [
    pa.array([dt.datetime(2026, 10, 1, 12, 30)], pa.timestamp("us", "UTC")),
    pa.array([0.1], pa.float64()),
    pa.array([True], pa.bool_()),
    pa.array([dt.date(999, 12, 31)], pa.date32()),
])
def test_other_column_types_are_written_by_duckdb(tmp_path, column):
    table = pa.table({"value": column, "currency": ["USD"]})
    assert not emit._arrow_renders(emit._with_digits(table, DIGITS))
    arrow, duck = _both(table, tmp_path)
    assert arrow == duck


def test_money_with_more_places_than_its_currency_is_rounded_as_duckdb_rounds(tmp_path):
    """Never from a run (amounts are rounded to the currency's digits first); the writer then falls
    back to DuckDB's rendering rather than cutting digits off."""
    table = pa.table({"currency": ["USD", "JPY"], "amount": pa.array([Decimal("1.2350"), Decimal("7.5")], emit.MONEY)})
    arrow, duck = _both(table, tmp_path)
    assert arrow == duck == b"currency,amount\nUSD,1.24\nJPY,8\n"


def test_money_of_a_currency_without_digits_and_at_scale_zero_give_duckdbs_bytes(tmp_path):
    """A currency missing from digits_of has no money cell (DuckDB's CASE gives none); a money column
    of scale 0 has no point to cut."""
    table = pa.table({"currency": ["USD", "XXX", "JPY"],
                      "amount": pa.array([Decimal("1.5000"), Decimal("2.0000"), Decimal("3.0000")], emit.MONEY),
                      "total": pa.array([Decimal(15), Decimal(20), Decimal(3)], pa.decimal128(38, 0))})
    arrow, duck = _both(table, tmp_path, {"USD": 2, "JPY": 0})
    assert arrow == duck
    only_usd = table.drop_columns(["total"]).filter(pa.array([True, True, False]))  # one currency with digits
    arrow, duck = _both(only_usd, tmp_path, {"USD": 2, "JPY": 0})
    assert arrow == duck


def test_wide_rows_are_written_in_smaller_slices(tmp_path, monkeypatch):
    """A slice holds about _SLICE_BYTES of the table, so a table of wide rows (long descriptions)
    never builds a text of 2 GB at once; the bytes are the same."""
    monkeypatch.setattr(emit, "_SLICE_BYTES", 10_000)
    table = pa.table({"description": [("x" * 997) + f"{i:03d}" for i in range(60)],
                      "n": pa.array(range(60), pa.int64())})
    assert emit._slice_rows(table) < 20
    arrow, duck = _both(table, tmp_path)
    assert arrow == duck


def test_plain_and_quoted_slices_in_one_file_give_duckdbs_bytes(tmp_path, monkeypatch):
    """A slice whose cells hold no comma, quote or line break is written by Arrow's writer as the
    cells are, the others joined by Arrow kernels: one file of both kinds, in order, has DuckDB's bytes."""
    monkeypatch.setattr(emit, "_CSV_SLICE", 1_000)
    special = {2500: "a,b", 4200: 'q"q', 4201: "l\nb"}  # in the third and fifth slices only
    data = [("USD", i, special.get(i, f"line {i}"), i * 10**6, 10**12, dt.date(2026, 10, 1), i % 7, 19 * 10**6)
            for i in range(6_000)]
    calls = []
    original = emit._has_special
    monkeypatch.setattr(emit, "_has_special", lambda cells: calls.append(found := original(cells)) or found)
    arrow, duck = _both(_table(data), tmp_path)
    assert arrow == duck
    assert True in calls and calls.count(True) < len(calls)
    assert arrow.count(b"\n") == 6_000 + 1 + 1  # the header, the rows and the break inside one cell
