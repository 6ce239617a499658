"""preview: the open period's draft so far equals the later run of the closed period with the same events.

A customer in Los Angeles on a monthly contract: the preview as of 2026-10-15 counts the events before
local midnight starting Oct 15 (2026-10-15T07:00Z) and bills them exactly as `run` bills October
once it has closed; an event after that instant is left out of the preview and counted by the run.
Nothing is written: no ledger, no output folder.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import ev, workspace, write_events
from conftest import run_bill

from pipeline.billing.preview import as_dict, preview
from pipeline.core.errors import BillingError

USAGEBILL = str(Path(sys.executable).with_name("usagebill"))
METRICS = [{"id": "calls", "event_type": "call", "aggregation": "count"},
           {"id": "gb", "event_type": "store", "aggregation": "weighted_sum", "field": "gb"},
           {"id": "pay", "event_type": "pay", "aggregation": "sum", "field": "amount"},
           {"id": "cpu", "event_type": "cpu", "aggregation": "sum", "field": "hours", "group_by": ["region"]}]
CHARGES = [{"id": "base", "model": "flat", "amount": 20},
           {"id": "calls", "metric": "calls", "model": "graduated",
            "tiers": [{"up_to": 2, "unit_price": 0, "flat_fee": 1}, {"unit_price": "0.5", "flat_fee": 3}]},
           {"id": "storage", "metric": "gb", "model": "per_unit", "unit_price": "0.1"},
           {"id": "fees", "metric": "pay", "model": "percentage", "percent": "2.9", "fixed_fee": "0.3",
            "free_events": 1},
           {"id": "cpu", "metric": "cpu", "model": "volume", "tiers": [{"up_to": 10, "unit_price": 1},
                                                                        {"unit_price": "0.8"}], "min_amount": 5}]
EVENTS = [ev("c1", "2026-10-02T10:00", "call"), ev("c2", "2026-10-05T10:00", "call"),
          ev("c3", "2026-10-09T10:00", "call"), ev("c3", "2026-10-09T11:00", "call"),  # a duplicate
          ev("s1", "2026-09-20T00:00", "store", gb=10.0), ev("s2", "2026-10-04T00:00", "store", gb=5.0),
          ev("p1", "2026-10-03T10:00", "pay", amount=100.0), ev("p2", "2026-10-06T10:00", "pay", amount=40.0),
          ev("h1", "2026-10-07T10:00", "cpu", hours=3.0, region="eu"),
          ev("h2", "2026-10-08T10:00", "cpu", hours=4.0, region="us"),
          ev("c4", "2026-10-15T06:59:59", "call")]  # Oct 14, 23:59:59 in Los Angeles: before the cutoff


@pytest.fixture
def ws(tmp_path):
    return workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=EVENTS,
                     customers=[{"customer_id": "c1", "name": "One", "country": "US",
                                 "timezone": "America/Los_Angeles"}],
                     contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p",
                                 "start_date": "2026-09-15", "billing_anchor_day": "1",
                                 "discount_percent": "10", "minimum_commitment": "30"}],
                     tax_rates=[{"country": "*", "percent": "7.5", "name": "Sales tax"}])


def lines_of(table) -> list[tuple]:
    return [(r["line_type"], r["charge_id"], r["group_key"], r["quantity"], r["amount"]) for r in table.to_pylist()]


def test_preview_equals_the_run_of_the_closed_period(ws):
    pv = preview(ws, "k1", dt.date(2026, 10, 15))
    assert pv.usage_up_to == dt.datetime(2026, 10, 15, 7, tzinfo=dt.UTC)
    closed = run_bill(ws, "2026-10-31", "2026-11-01")  # October's period closes on Oct 31
    assert lines_of(pv.result.lines) == lines_of(closed.lines)
    head = ["invoice_id", "period_start", "period_end", "subtotal", "discount_total", "tax_total", "total", "status"]
    assert [{k: r[k] for k in head} for r in pv.result.invoices.to_pylist()] == \
        [{k: r[k] for k in head} for r in closed.invoices.to_pylist()]
    assert pv.invoice.status == "draft" and pv.result.counts["billed"] == closed.counts["billed"] == 9
    calls = next(x for x in pv.invoice.lines if x.charge_id == "calls")
    assert calls.quantity == 4  # c1, c2, c3 (once), c4


def test_events_after_the_cutoff_are_left_out(ws):
    write_events(ws / "events" / "later.parquet", [ev("c5", "2026-10-15T07:00", "call"),  # Oct 15, 00:00 local
                                                   ev("s3", "2026-10-20T00:00", "store", gb=100.0),
                                                   ev("p3", "2026-10-21T00:00", "pay", amount=10.0)])
    before = {x.charge_id: x for x in preview(ws, "k1", dt.date(2026, 10, 15)).invoice.lines}
    after = {x.charge_id: x for x in preview(ws, "k1", dt.date(2026, 10, 22)).invoice.lines}
    closed = {x.charge_id: x for x in run_bill(ws, "2026-10-31", "2026-11-01").invoice_objects[0].lines}
    assert before["calls"].quantity == 4 and after["calls"].quantity == closed["calls"].quantity == 5
    assert before["storage"].quantity < after["storage"].quantity == closed["storage"].quantity
    assert before["fees"].events == 2 and after["fees"].events == closed["fees"].events == 3
    assert after["fees"].amount == closed["fees"].amount


def test_nothing_is_written_and_the_command_prints_a_draft(ws):
    p = subprocess.run([USAGEBILL, "preview", str(ws), "--contract", "k1", "--as-of", "2026-10-15"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "PREVIEW, draft (not issued)" in p.stdout and "usage up to 2026-10-15T00:00:00-07:00" in p.stdout
    assert "status draft" in p.stdout and "total" in p.stdout
    j = subprocess.run([USAGEBILL, "preview", str(ws), "--contract", "k1", "--as-of", "2026-10-15", "--format", "json"],
                       capture_output=True, text=True, check=True)
    doc = json.loads(j.stdout)
    assert doc["preview"] is True and doc["status"] == "draft" and doc["invoice"]["status"] == "draft"
    assert doc["usage_up_to"] == "2026-10-15T07:00:00+00:00"
    assert doc["invoice"]["total"] == f"{preview(ws, 'k1', dt.date(2026, 10, 15)).invoice.total:f}"
    assert sorted(x.name for x in ws.iterdir()) == ["contracts.csv", "customers.csv", "events", "pricebook.yaml",
                                                    "tax_rates.csv"]  # no ledger, no out/


def test_dates_outside_the_contract_are_refused(ws):
    with pytest.raises(BillingError, match="no open period on 2026-09-01 .the contract starts on 2026-09-15"):
        preview(ws, "k1", dt.date(2026, 9, 1))
    with pytest.raises(BillingError, match="--contract nope: no such contract"):
        preview(ws, "nope", dt.date(2026, 10, 1))
    doc = as_dict(preview(ws, "k1", dt.date(2026, 9, 15)))  # the first day: nothing used yet
    assert doc["counts"]["billed"] == 0 and doc["invoice"]["period_start"] == dt.date(2026, 9, 15)
