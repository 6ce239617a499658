"""The listings (`invoices`, `credit-notes`) are rendered column by column by Arrow kernels and
written slice by slice; the row-by-row rendering they replaced (kept here, short, as the oracle)
must give the same text for any table of the listings' column kinds, in every format."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.billing.emit import neutralize
from pipeline.ledger import export

DIGITS = {"USD": 2, "JPY": 0, "KWD": 3, "CLF": 4}
MONEY = pa.decimal128(38, 4)
NASTY = ["", "=SUM(A1)", "+1", "-2", "@x", "\tt", "\rr", "a,b", 'q"q', "l\nb", "c\rd", " sp ", "é,ü", "'", "plain",
         '""', ",", "\n", "trail\u3000", "nb\xa0", "x\x1c", "\\", "日本", "emoji 🧾", "\u2028"]
texts = st.one_of(st.sampled_from(NASTY),
                  st.text(alphabet=st.sampled_from(list('ab,"\n\r=+-@\t \'é\\\u3000\x1c')), max_size=6))


def oracle(t: pa.Table, fmt: str) -> str:
    """The listing as it was rendered before: every value to Python, formatted one by one."""
    names = t.column_names
    digits = {c: DIGITS[c] for c in set(t.column("currency").to_pylist()) if c}
    columns = []
    for field in t.schema:
        values = t.column(field.name).to_pylist()
        if pa.types.is_decimal(field.type):
            columns.append([None if v is None else f"{v.quantize(Decimal(1).scaleb(-digits[c])):f}"
                            for v, c in zip(values, t.column("currency").to_pylist())])
        elif pa.types.is_temporal(field.type):
            columns.append([None if v is None else v.isoformat() for v in values])
        else:
            columns.append(values)
    if fmt == "json":
        return json.dumps([dict(zip(names, row)) for row in zip(*columns)], indent=2) + "\n"
    rows = [["" if v is None else str(v) for v in row] for row in zip(*columns)]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(names)
        w.writerows([[neutralize(c) for c in r] for r in rows])
        return buf.getvalue()
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    money = {i for i, f in enumerate(t.schema) if pa.types.is_decimal(f.type)}
    lines = ["  ".join(n.rjust(w) if i in money else n.ljust(w) for i, (n, w) in enumerate(zip(names, widths)))]
    lines += ["  ".join(c.rjust(w) if i in money else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
              for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


rows = st.lists(st.tuples(
    st.sampled_from(sorted(DIGITS)), st.integers(-10**14, 10**14), st.one_of(st.none(), st.integers(-10**9, 10**9)),
    st.one_of(st.none(), texts), st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
    st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)), st.one_of(st.none(), texts),
), min_size=0, max_size=30)


def _table(data: list[tuple], last_text: bool) -> pa.Table:
    columns = {
        "invoice_number": pa.array([f"DC-{i}" for i in range(len(data))], pa.string()),
        "currency": pa.array([r[0] for r in data], pa.string()),
        "total": pa.array([Decimal(r[1]).scaleb(-DIGITS[r[0]]) for r in data], MONEY),
        "paid": pa.array([None if r[2] is None else Decimal(r[2]).scaleb(-DIGITS[r[0]]) for r in data], MONEY),
        "customer_id": pa.array([r[3] for r in data], pa.string()),
        "issue_date": pa.array([r[4] for r in data], pa.date32()),
        "run_seq": pa.array([r[5] for r in data], pa.int64()),
    }
    if last_text:  # a text column last: the table's line ends are its cells' own
        columns["reason"] = pa.array([r[6] for r in data], pa.string())
    return pa.table(columns)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows, last_text=st.booleans(), fmt=st.sampled_from(["csv", "json", "table"]),
       slice_rows=st.sampled_from([1, 3, 1000]))
def test_listing_renders_as_row_by_row(data, last_text, fmt, slice_rows):
    t = _table(data, last_text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "_SLICE", slice_rows)  # several slices: where they join is part of the text
        assert export.render(t, fmt) == oracle(t, fmt)


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_kinds_arrow_does_not_render_alike_are_written_by_python(fmt):
    """Booleans, floats, timestamps and money with more places than its currency: Python's text."""
    t = pa.table({"currency": ["USD", "JPY", "USD"],
                  "flag": pa.array([True, None, False]), "ratio": pa.array([0.1, 2.5e-7, None]),
                  "at": pa.array([dt.datetime(2026, 12, 2, 19, 32, 35, 285444, tzinfo=dt.UTC), None,
                                  dt.datetime(2026, 1, 1, tzinfo=dt.UTC)], pa.timestamp("us", "UTC")),
                  "rate": pa.array([Decimal("8.875"), Decimal("2.5"), None], MONEY)})
    assert export.render(t, fmt) == oracle(t, fmt)
    if fmt == "json":
        assert json.loads(export.render(t, fmt))[0] == {"currency": "USD", "flag": True, "ratio": 0.1,
                                                       "at": "2026-12-02T19:32:35.285444+00:00", "rate": "8.88"}
