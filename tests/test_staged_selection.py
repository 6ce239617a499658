"""A run that selects customers (--contract, --customer: what the nightly runs) reads the event files
once into `selected_events` (pipeline/billing/ingest.py stage_selected) and takes its classification,
weighted_sum history and quarantine from there: the same tables as reading the files for each."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import ev, workspace
from conftest import run_bill
from tools.generate import generate_workspace

from pipeline.billing import ingest

TABLES = ("invoices", "lines", "usage", "quarantine", "daily_usage")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    ws = tmp_path_factory.mktemp("staged") / "ws"
    generate_workspace(ws, customers=120, events=40_000, seed=5, terms=True)
    return ws


def _staging(monkeypatch, allowed: bool) -> list[bool]:
    """Spy on stage_selected (or refuse it: the files read by every query, as before it existed)."""
    calls: list[bool] = []
    real = ingest.stage_selected

    def spy(*args, **kw):
        calls.append(real(*args, **kw) if allowed else False)
        return calls[-1]
    monkeypatch.setattr(ingest, "stage_selected", spy)
    return calls


def _same(a, b) -> None:
    assert a.counts == b.counts
    for name in TABLES:
        assert getattr(a, name).equals(getattr(b, name)), name


@pytest.mark.parametrize("by", ["contracts", "customers"])
def test_a_selected_run_bills_as_reading_the_files(generated, monkeypatch, by):
    rows = (generated / "contracts.csv").read_text().splitlines()[1:6]  # the first five contracts
    selection = ({"contracts": tuple(r.split(",")[0] for r in rows)} if by == "contracts"
                 else {"customers": ("C00003", "C00050", "C00077")})
    with monkeypatch.context() as m:
        calls = _staging(m, True)
        staged = run_bill(generated, **selection)
        assert calls == [True]
    with monkeypatch.context() as m:
        calls = _staging(m, False)
        read = run_bill(generated, **selection)
        assert calls == [False]
    assert staged.counts["billed"] > 0 and staged.quarantine.num_rows > 0  # both paths did some work
    _same(staged, read)


def test_the_weighted_history_before_the_span_is_staged(tmp_path, monkeypatch):
    """A weighted_sum level sums every change since the contract's start, months before the run's
    span and its dedup lookback: the staged rows reach back that far."""
    metrics = [{"id": "seats", "event_type": "seat", "aggregation": "weighted_sum", "field": "seats"}]
    charges = [{"id": "seats", "metric": "seats", "model": "per_unit", "unit_price": 10}]
    customers = [{"customer_id": "c1", "name": "One", "country": "US"},
                 {"customer_id": "c2", "name": "Two", "country": "US"}]
    contracts = [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-03-01"},
                 {"contract_id": "k2", "customer_id": "c2", "plan_id": "p", "start_date": "2026-03-01"}]
    events = [ev("s1", "2026-03-05T00:00", event_type="seat", seats=3),
              ev("s2", "2026-10-16T00:00", event_type="seat", seats=2),
              ev("x1", "2026-03-05T00:00", customer_id="c2", event_type="seat", seats=7),
              ev(None, "2026-10-10T00:00", event_type="seat", seats=1)]  # no event_id: invalid, quarantined
    ws = workspace(tmp_path / "ws", metrics=metrics, charges=charges, events=events, customers=customers,
                   contracts=contracts)
    calls = _staging(monkeypatch, True)
    staged = run_bill(ws, contracts=("k1",))
    assert calls == [True]
    (line,) = [r for r in staged.lines.to_pylist() if r["line_type"] == "usage"]
    # 3 seats all month, 2 more from Oct 16 00:00 UTC: 3 + 2 * 16/31
    assert float(line["quantity"]) == pytest.approx(3 + 2 * 16 / 31, abs=1e-9)
    assert staged.quarantine.column("reason").to_pylist() == ["invalid"]
    monkeypatch.undo()
    _same(staged, run_bill(ws, contracts=("k1",)))


def _events_file(path, extra: dict | None = None) -> None:
    columns = {"event_id": ["e1"], "customer_id": ["c1"], "event_type": ["call"],
               "timestamp": pa.array([dt.datetime(2026, 10, 2, tzinfo=dt.UTC)], pa.timestamp("us", "UTC"))}
    pq.write_table(pa.table({**columns, **(extra or {})}), path)


def test_files_of_different_columns_are_read_where_they_lie(tmp_path):
    """The quarantine's columns are those of the files holding its rows, read together: staging is
    only for files that all have the same columns, so that reading them all gives the same."""
    folder = tmp_path / "events"
    folder.mkdir()
    _events_file(folder / "a.parquet")
    _events_file(folder / "b.parquet")
    assert ingest.discover(folder).uniform
    _events_file(folder / "c.parquet", {"region": ["eu"]})
    assert not ingest.discover(folder).uniform
    assert not ingest.stage_selected(None, ingest.discover(folder), None, None, None)
