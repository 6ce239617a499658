"""The contract side held as columns (issue 17) against the object-by-object definitions it replaced:
the workspace's tables by column (config/tables.py Rows), the billed periods as index arrays
(billing/scope.py Billed, select, cut), the contracts' active ranges and segments, the local
midnights and period lengths by distinct (period, zone), and at issue the numbering of a whole
batch and the terms recorded per line. Each reference below is written out plainly, one object at
a time, as the code was before."""
from __future__ import annotations

import datetime as dt
import gc
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.billing import scope as S
from pipeline.billing.periods import closing_periods, instant, terms_starts
from pipeline.billing.shards import Shard
from pipeline.config import tables as T
from pipeline.config import workspace as W
from pipeline.config.tables import read_table
from pipeline.config.workspace import load_workspace
from pipeline.core.errors import ConfigError
from pipeline.core.gcpause import paused_gc
from pipeline.ledger.documents import Batch, Numbering
from pipeline.ledger.issue import line_terms

GENERATE = Path(__file__).parent / "tools" / "generate.py"
OCTOBER = (dt.date(2026, 10, 1), dt.date(2026, 11, 1))


@pytest.fixture(scope="module", params=[(), ("--terms",), ("--incremental", "--terms", "--seed", "7")],
                ids=["plain", "terms", "incremental"])
def ws(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("ws") / "ws"
    subprocess.run([sys.executable, str(GENERATE), "--customers", "150", "--events", "5000", *request.param,
                    str(path)], check=True, capture_output=True)
    return load_workspace(path)


def _periods_one_by_one(ws, first, stop, chosen=None):
    """The billed periods as select built them before: one object per period, sorted."""
    contracts = sorted(chosen if chosen is not None else ws.contracts.values(), key=lambda k: k.contract_id)
    out = [S.BilledPeriod(k, p, ws.customers[k.customer_id].timezone, ws.terms_at(k, p.start))
           for k in contracts for p in closing_periods(k, first, stop)]
    out.sort(key=lambda b: (b.period.end, b.contract.contract_id, b.period.start))
    return out


def test_select_gives_the_periods_object_by_object(ws):
    scope = S.select(ws, *OCTOBER)
    expected = _periods_one_by_one(ws, *OCTOBER)
    assert len(expected) > 150  # weekly and daily contracts have several periods
    assert list(scope.periods) == expected
    assert scope.contract_ids.to_pylist() == [b.contract.contract_id for b in expected]
    assert scope.days("start").to_pylist() == [b.period.start for b in expected]
    assert scope.days("end").to_pylist() == [b.period.end for b in expected]
    assert [t.astimezone(dt.UTC) for t in scope.start_at.to_pylist()] == [b.start_at for b in expected]
    assert [t.astimezone(dt.UTC) for t in scope.end_at.to_pylist()] == [b.end_at for b in expected]
    assert scope.full_seconds_us.to_pylist() == [b.full_seconds_us for b in expected]
    assert scope.span == (min(b.start_at for b in expected), max(b.end_at for b in expected))


def test_terms_are_shared_only_by_equal_terms(ws):
    scope = S.select(ws, *OCTOBER)
    for b in scope.periods:
        own = ws.terms_at(b.contract, b.period.start)
        assert (b.terms.charges, b.terms.sources, b.terms.discount_source, b.terms.commitment_source) == \
            (own.charges, own.sources, own.discount_source, own.commitment_source)
        assert str(b.terms.discount_percent) == str(own.discount_percent)  # as written, not only equal
        assert str(b.terms.minimum_commitment) == str(own.minimum_commitment)


def test_a_selection_and_a_custom_calendar(ws):
    some = sorted(ws.contracts)[::7]
    scope = S.select(ws, *OCTOBER, contract_ids=tuple(some))
    assert list(scope.periods) == _periods_one_by_one(ws, *OCTOBER, [ws.contracts[c] for c in some])
    # a caller's own periods (nightly, preview): each call's list is placed once, empty ones skipped
    only = {some[0]: closing_periods(ws.contracts[some[0]], *OCTOBER)}
    picked = S.select(ws, *OCTOBER, periods_of=lambda k, _a, _b: list(only.get(k.contract_id, [])))
    assert [b.contract.contract_id for b in picked.periods] == [some[0]] * len(only[some[0]])


def test_an_empty_scope(ws):
    scope = S.select(ws, dt.date(1990, 1, 1), dt.date(1990, 1, 2))
    assert scope.periods == () and scope.span is None and len(scope.start_at) == 0


@pytest.mark.parametrize("count", [1, 3])
def test_a_shard_is_the_whole_runs_periods_of_its_customers(ws, count):
    whole = S.select(ws, *OCTOBER)
    seen = []
    for index in range(count):
        part = S.cut(whole, Shard(index, count))
        mine = {k.customer_id for k in part.contracts}
        assert list(part.periods) == [b for b in whole.periods if b.contract.customer_id in mine]
        assert part.span == whole.span
        seen += list(part.periods)
    assert sorted(seen, key=lambda b: (b.period.end, b.contract.contract_id)) == list(whole.periods)


def test_active_ranges_and_segments_are_those_of_each_contract(ws):
    contracts = sorted(ws.contracts.values(), key=lambda k: k.contract_id)
    lo, hi = S._active_ranges(ws, contracts)
    assert [(a.astimezone(dt.UTC), b.astimezone(dt.UTC)) for a, b in zip(lo.to_pylist(), hi.to_pylist())] == \
        [S._active_range(ws, k) for k in contracts]
    for segmented in (True, False):
        shapes: dict[frozenset[str], int] = {}
        table = S._segments_table(ws, contracts, segmented, shapes, S._ranges(ws, contracts)).to_pylist()
        names = {i: used for used, i in shapes.items()}
        got = [(r["contract_id"], r["active_from"].astimezone(dt.UTC), r["active_to"].astimezone(dt.UTC),
                names[r["shape_idx"]]) for r in table]
        expected = []
        for k in contracts:  # the old loop: one row per contract, or per piece where its terms change
            if segmented and len(terms_starts(k, ws.terms.change_dates(k))) > 1:
                pieces = S._segments(ws, k)
            elif segmented:
                pieces = [(*S._active_range(ws, k), ws.terms_at(k, k.start_date).metric_ids())]
            else:
                pieces = [(*S._active_range(ws, k), ws.metric_ids_ever(k))]
            expected += [(k.contract_id, a, b, frozenset(used)) for a, b, used in pieces]
        assert got == expected
        assert [r["seq"] for r in table] == list(range(len(table)))


def test_local_midnights_of_a_contract_without_end_and_across_zones():
    class _Customer:
        def __init__(self, tz):
            self.timezone = tz

    class _Ws:
        customers = {"a": _Customer("Pacific/Auckland"), "b": _Customer("America/Los_Angeles")}

    from pipeline.config.workspace import Contract
    ks = [Contract("k1", "a", "p", dt.date(2026, 4, 5), None, "monthly", 5, 0, None),
          Contract("k2", "b", "p", dt.date(2026, 4, 5), dt.date(2026, 11, 1), "monthly", 5, 0, None),
          Contract("k3", "a", "p", dt.date(2026, 4, 5), dt.date(2026, 11, 1), "monthly", 5, 0, None)]
    lo, hi = S._active_ranges(_Ws(), ks)
    # local midnight of 5 April in Auckland is still summer time (+13: DST ends at 03:00 that day)
    assert lo.to_pylist()[0].astimezone(dt.UTC) == instant(dt.date(2026, 4, 5), "Pacific/Auckland") == \
        dt.datetime(2026, 4, 4, 11, tzinfo=dt.UTC)
    assert lo.to_pylist()[1].astimezone(dt.UTC) == dt.datetime(2026, 4, 5, 7, tzinfo=dt.UTC)  # PDT, -7
    assert lo.to_pylist()[2] == lo.to_pylist()[0]  # the same (day, zone), worked out once
    # 1 November: Los Angeles still -7 at midnight (DST ends at 02:00), Auckland +13
    assert [h.astimezone(dt.UTC) for h in hi.to_pylist()] == [
        S.FOREVER, dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC), dt.datetime(2026, 10, 31, 11, tzinfo=dt.UTC)]


def test_rows_by_column_read_as_the_rows_were(tmp_path):
    (tmp_path / "t.csv").write_text('a,b,c\n1, two ,"3\nmore"\n , ,\n\n4\n5,,6\n', encoding="utf-8")
    rows = read_table(tmp_path, "t", ("a",), ("a", "b", "c"))
    assert len(rows) == 3  # the blank rows are no rows
    assert [r.where for r in rows] == ["t.csv line 3", "t.csv line 6", "t.csv line 7"]
    assert [r.cells for r in rows] == [{"a": "1", "b": "two", "c": "3\nmore"}, {"a": "4", "b": None, "c": None},
                                       {"a": "5", "b": None, "c": "6"}]
    assert rows.column("b") == ["two", None, None]
    assert rows.column("unknown") == [None, None, None]
    assert [r.cells for r in rows[1:]] == [r.cells for r in list(rows)[1:]]
    pq.write_table(pa.table({"a": [1, None], "b": ["x ", ""]}), tmp_path / "u.parquet")
    parquet = read_table(tmp_path, "u", ("a",))
    assert [(r.where, r.cells) for r in parquet] == [("u.parquet row 1", {"a": "1", "b": "x"}),
                                                     ("u.parquet row 2", {"a": None, "b": None})]


def test_a_batch_numbered_at_once_is_numbered_as_one_by_one():
    invoices = pa.table({"invoice_id": ["i0", "i1", "i2", "i3"]})
    lines = pa.table({"invoice_id": ["i0", "i1", "i1", "i3"]})
    one, bulk = (Batch(7, dt.date(2026, 11, 2), Numbering("DC", {"invoice": 41, "credit_note": 3})) for _ in "ab")
    numbers = [one.issue_row(invoices, lines, row) for row in (0, 1, 3)]
    bulk.issue_rows(invoices, lines, [0, 1, 3])
    assert numbers == ["DC-42", "DC-43", "DC-44"]
    assert bulk.from_run == one.from_run and bulk.numbering.last == one.numbering.last == \
        {"invoice": 44, "credit_note": 3}
    assert Numbering("DC", {"invoice": 0, "credit_note": 9}).take("credit_note", 2) == [("DC-CN-10", 10),
                                                                                       ("DC-CN-11", 11)]


def test_line_terms_are_each_lines_terms(ws):
    scope = S.select(ws, *OCTOBER)
    periods = scope.periods[:60]
    invoices = pa.table({"invoice_number": [f"DC-{i}" for i in range(len(periods))],
                         "contract_id": [b.contract.contract_id for b in periods],
                         "period_start": pa.array([b.period.start for b in periods], pa.date32())})
    rows = {"invoice_number": [], "line_number": [], "line_type": [], "charge_id": []}
    for i, b in enumerate(periods):
        for n, (line_type, charge) in enumerate([*(("usage", c.id) for c in b.terms.charges), ("flat", "nope"),
                                                 ("discount", None), ("commitment", None), ("one_time", "x")], 1):
            rows["invoice_number"].append(f"DC-{i}")
            rows["line_number"].append(n)
            rows["line_type"].append(line_type)
            rows["charge_id"].append(charge)
    rows["invoice_number"].append("DC-unknown")  # a line of no invoice of the batch: no terms
    rows["line_number"].append(1)
    rows["line_type"].append("discount")
    rows["charge_id"].append(None)
    lines = pa.table(rows)
    expected = [(number, n, ws.terms_at(b.contract, b.period.start).line_source(t, c))
                for number, n, t, c in zip(*rows.values()) if number != "DC-unknown"
                for b in [periods[int(number[3:])]]]
    assert [tuple(r.values()) for r in line_terms(ws, invoices, lines).to_pylist()] == \
        [e for e in expected if e[2] is not None]


def test_a_pause_freezes_what_survived_and_gives_the_collector_back():
    gc.unfreeze()
    assert gc.isenabled()
    with paused_gc():
        kept = [[i] for i in range(1000)]
        assert not gc.isenabled()
        with paused_gc():  # nesting: only the outermost pause gives it back
            pass
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() >= len(kept)
    gc.unfreeze()


def test_contracts_of_a_plan_keep_their_own_discount_as_written(tmp_path):
    from builders import workspace
    root = workspace(tmp_path / "ws", metrics=[], charges=[{"id": "base", "model": "flat", "amount": "100"}],
                     events=[], customers=[{"customer_id": c, "name": c, "country": "US"} for c in ("c1", "c2", "c3")],
                     contracts=[{"contract_id": k, "customer_id": c, "plan_id": "p", "start_date": "2026-10-01",
                                 "discount_percent": d, "minimum_commitment": m}
                                for k, c, d, m in (("k1", "c1", "10", "500"), ("k2", "c2", "10.0", "500"),
                                                   ("k3", "c3", "10", "500.00"))])
    scope = S.select(load_workspace(root), *OCTOBER)
    assert [(b.contract.contract_id, str(b.terms.discount_percent), str(b.terms.minimum_commitment))
            for b in scope.periods] == [("k1", "10", "500"), ("k2", "10.0", "500"), ("k3", "10", "500.00")]
    assert len(scope.billed.terms) == 3


def test_listings_render_money_at_each_currencys_digits_as_row_by_row():
    import json
    from decimal import Decimal

    from pipeline.ledger import export

    money = pa.decimal128(38, 4)
    t = pa.table({"invoice_number": ["DC-1", "DC-2", "DC-3", "DC-4"],
                  "currency": ["JPY", "KWD", "USD", "EUR"],
                  "issue_date": pa.array([dt.date(2026, 11, 2), None, dt.date(2026, 11, 3), dt.date(2026, 12, 1)]),
                  "total": pa.array([Decimal("1230"), Decimal("-0.125"), Decimal("12.30"), None], money),
                  "paid": pa.array([Decimal("0"), Decimal("1234567.891"), Decimal("-12.3"), Decimal("0.01")], money),
                  "note": ["=1+1", None, "plain", ""]})
    digits = {"JPY": 0, "KWD": 3, "USD": 2, "EUR": 2}

    def text(v, currency):  # the rule row by row, as listings were rendered before
        if isinstance(v, Decimal):
            return f"{v.quantize(Decimal(1).scaleb(-digits[currency])):f}"
        return v.isoformat() if hasattr(v, "isoformat") else v

    rows = [{k: text(v, r["currency"]) for k, v in r.items()} for r in t.to_pylist()]
    assert [r["total"] for r in rows] == ["1230", "-0.125", "12.30", None]
    assert [r["paid"] for r in rows] == ["0", "1234567.891", "-12.30", "0.01"]
    assert json.loads(export.render(t, "json")) == rows
    csv_text = export.render(t, "csv")
    # every listing cell goes through the spreadsheet guard, a negative amount too (as before this change)
    assert csv_text.splitlines()[1:] == ["DC-1,JPY,2026-11-02,1230,0,'=1+1", "DC-2,KWD,,'-0.125,1234567.891,",
                                         "DC-3,USD,2026-11-03,12.30,'-12.30,plain", "DC-4,EUR,2026-12-01,,0.01,"]
    assert export.render(t, "text").splitlines()[1].split() == ["DC-1", "JPY", "2026-11-02", "1230", "0", "=1+1"]
    assert export.render(t.slice(0, 0), "json") == "[]\n"
    # a column with more places than its currency (none of the listings has one) is rounded half to even
    odd = pa.table({"currency": ["USD", "JPY"], "rate": pa.array([Decimal("8.875"), Decimal("2.5")], money)})
    assert json.loads(export.render(odd, "json")) == [{"currency": "USD", "rate": "8.88"},
                                                      {"currency": "JPY", "rate": "2"}]


_CELL = st.one_of(
    st.text(alphabet="ab \t\x1c\xa0é", max_size=3),  # plain
    st.text(alphabet="ab ,\t\r\n\"\x1c\xa0\u2028é", max_size=4),  # anything: quotes and line breaks in plain cells
    st.text(alphabet="xy ,\n\"é", max_size=4).map(lambda t: '"' + t.replace('"', '""') + '"'),  # quoted well
    st.sampled_from(["", " ", "  z ", "\xa0", "\x1f"]))


@st.composite
def _csv_text(draw) -> str:
    """A header and lines, most of the header's width (some shorter, longer or blank), \n or \r\n."""
    header = draw(st.lists(st.sampled_from(["a", "b", " c ", "d"]), min_size=1, max_size=4, unique=True))
    widths = st.one_of(st.just(len(header)), st.integers(0, 5))
    lines = draw(st.lists(widths.flatmap(lambda n: st.lists(_CELL, min_size=n, max_size=n)), max_size=6))
    end = "\r\n" if draw(st.booleans()) else "\n"
    return end.join([",".join(header), *map(",".join, lines)]) + end


@settings(max_examples=400, deadline=None)
@given(text=_csv_text())
def test_a_csv_read_by_arrow_is_read_as_the_csv_module_reads_it(tmp_path_factory, text):
    """Arrow's reader (config/tables.py `_read_csv_by_arrow`) gives the csv module's header, cells and
    line numbers, or declines (None) and leaves the text, malformed or not, to the csv module."""
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    try:
        expected = T._read_csv_by_lines(path, text)
    except ConfigError:
        expected = None
    fast = T._read_csv_by_arrow(path, text)
    if fast is None:
        return
    assert expected is not None, "Arrow read a text the csv module refuses"
    assert fast[0] == expected[0] and fast[1].columns == expected[1].columns
    assert list(fast[1].places) == list(expected[1].places) and len(fast[1]) == len(expected[1])


def test_arrow_reads_plainly_quoted_csv_and_declines_the_rest(tmp_path):
    path = tmp_path / "t.csv"
    plain = 'id,name\n\n1," Acme, ""Ltd"" "\r\n2,"two\nlines"\n , \n3,x\n'
    header, rows = T._read_csv_by_arrow(path, plain)
    assert header == ["id", "name"] and rows.columns == {"id": ["1", "2", "3"],
                                                         "name": ['Acme, "Ltd"', "two\nlines", "x"]}
    assert list(rows.places) == [3, 5, 7]  # found by the csv module when a message needs them (a row of 2 lines)
    one_line_rows = 'id,name\n\n1,x\n , \n2,"y, z"\r\n\r\n3,w\n'
    assert list(T._read_csv_by_arrow(path, one_line_rows)[1].places) == [3, 5, 7] == \
        list(T._read_csv_by_lines(path, one_line_rows)[1].places)  # counted from the lines themselves
    assert sorted(T._SPACES) == [chr(c) for c in range(0x110000) if chr(c).isspace()]  # what str.strip() strips
    for text in ('id,name\n1,a"b\n', 'id,name\n1,a"b"\n', 'id,name\n"1"x,b\n',
                 'id,name\n1,"a"b\n', 'id,name\n1,"open\n', 'id,name\n1\n',
                 'id,name\n1,2,3\n', 'id,name\r1,x\r', 'id,name\n1,\0\n', 'id,id\n1,2\n', '"i\nd",name\n1,x\n'):
        assert T._read_csv_by_arrow(path, text) is None, text
    assert T._read_csv_by_arrow(path, '"id","name"\n"1","x"\n')[1].columns == {"id": ["1"], "name": ["x"]}
    quoted = 'id,name,x\n' + '"1","x","y"\n' * 10  # more quotes a line than are checked one by one
    assert T._read_csv_by_arrow(path, quoted) is None and len(T._read_csv_by_lines(path, quoted)[1]) == 10
    path.write_text('id,name\n1,"a\nb"\n\n2,x,y\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="t.csv line 5: 3 cells"):
        T._read_csv(path)


def test_customers_and_contracts_read_at_once_are_those_read_row_by_row(tmp_path, monkeypatch):
    """config/workspace.py builds the usual valid tables column by column (`_customers_at_once`,
    `_contracts_at_once`); the same Customer and Contract tuples, in the same order, as the row-by-row
    reading that words the problems."""
    path = tmp_path / "ws"
    subprocess.run([sys.executable, str(GENERATE), "--customers", "120", "--events", "100", "--terms", str(path)],
                   check=True, capture_output=True)
    def append(name: str, *rows: dict, extra: str = "") -> None:  # rows by column name, optional columns added
        text = (path / name).read_text(encoding="utf-8")
        header = text.splitlines()[0].split(",") + ([extra] if extra else [])
        lines = text.splitlines()
        lines[0] += f",{extra}" if extra else ""
        lines += [",".join(f'"{r.get(h, "")}"' for h in header) for r in rows]
        (path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert len(header) == len(set(header)) and all(set(r) <= set(header) for r in rows)

    append("customers.csv", {"customer_id": "X1", "name": "Extra, Inc.", "address_line1": " 1 Road ", "city": "Town",
                             "country": "FR", "tax_id": "FR40303265045", "tax_exempt": "TRUE",
                             "payment_terms_days": "0"},
           {"customer_id": "X2", "name": "Plain", "country": "us", "timezone": "Asia/Tokyo", "send_ubl": "true"},
           extra="send_ubl")
    append("contracts.csv", {"contract_id": "KX1", "customer_id": "X1", "plan_id": "business_eur",
                             "start_date": "2026-02-17", "end_date": "2026-12-01", "discount_percent": "7.5",
                             "minimum_commitment": "100", "billed_through": "2026-03-16"}, extra="billed_through")
    fast = load_workspace(path)
    customers = read_table(path, "customers", ("customer_id",), W.CUSTOMER_COLUMNS)
    assert W._customers_at_once(customers, []) is not None  # the fast path read them (it declines nothing here)
    assert W._contracts_at_once(read_table(path, "contracts", ("contract_id",), W.CONTRACT_COLUMNS),
                                fast.pricebook, fast.customers) is not None
    monkeypatch.setattr("pipeline.config.workspace._customers_at_once", lambda *a: None)
    monkeypatch.setattr("pipeline.config.workspace._contracts_at_once", lambda *a: None)
    slow = load_workspace(path)
    assert list(fast.customers.items()) == list(slow.customers.items())
    assert list(fast.contracts.items()) == list(slow.contracts.items())
    assert [type(c) for c in fast.customers.values()] == [type(c) for c in slow.customers.values()]
    assert fast.warnings == slow.warnings
    assert fast.customers["X1"][1:] == ("Extra, Inc.", "FR", "FR40303265045", True, "UTC", 0,
                                        (None, "1 Road", None, "Town", None), False)
    assert fast.customers["X2"].send_ubl and fast.customers["X2"].timezone == "Asia/Tokyo"
    assert fast.customers["X2"].country == "US"
    assert fast.contracts["KX1"][3:] == (dt.date(2026, 2, 17), dt.date(2026, 12, 1), "monthly", 17,
                                         Decimal("7.5"), Decimal("100"), dt.date(2026, 3, 16))
