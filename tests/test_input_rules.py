"""The input rules of data contract v2: mistakes in a workspace are refused or warned, never billed as zero.

Each mistake goes through the real command: one clear line naming the file, column or metric and
the fix, a non-zero exit and no output folder; or, for warnings, exit 0 with the warning on stderr
and in manifest.json.
"""
from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from builders import COMPANY, ev, workspace
from conftest import run_bill
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import usagebill

CALLS = {"id": "api_calls", "event_type": "api_call", "aggregation": "count"}
HOURS = {"id": "compute_hours", "event_type": "compute", "aggregation": "sum", "field": "hours",
         "group_by": ["region"]}
CHARGES = [{"id": "platform", "model": "flat", "amount": 10},
           {"id": "api", "metric": "api_calls", "model": "per_unit", "unit_price": "0.5"},
           {"id": "compute", "metric": "compute_hours", "model": "per_unit", "unit_price": "2"}]
EVENTS = [ev("a1", "2026-10-05T10:00", "api_call"), ev("a2", "2026-10-06T10:00", "api_call"),
          ev("h1", "2026-10-05T10:00", "compute", hours=1.5, region="eu")]
WINDOW = ("--from", "2026-10-01", "--to", "2026-11-01")


def make(tmp_path: Path, **kw) -> Path:
    kw.setdefault("metrics", [CALLS, HOURS])
    kw.setdefault("charges", CHARGES)
    kw.setdefault("events", EVENTS)
    return workspace(tmp_path / "ws", **kw)


def run(tmp_path: Path, ws: Path, *extra: str):
    out = tmp_path / "out"
    return usagebill("run", str(ws), *WINDOW, "--out", str(out), *extra), out


def refused(tmp_path: Path, ws: Path, *needles: str) -> str:
    p, out = run(tmp_path, ws)
    assert p.returncode != 0, p.stdout
    assert not out.exists(), "a refused run wrote its output folder"
    error = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert error, p.stderr
    for needle in needles:
        assert needle in p.stderr, (needle, p.stderr)
    return p.stderr


def rename_header(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    head, rest = text.split("\n", 1)
    assert old in head.split(","), head
    path.write_text(",".join(new if h == old else h for h in head.split(",")) + "\n" + rest)


def test_events_exported_as_csv_are_refused(tmp_path):
    ws = make(tmp_path)
    (ws / "events" / "october.csv").write_text("event_id,customer_id\nx,c1\n")
    refused(tmp_path, ws, "events/october.csv", "not a Parquet file", "convert it to Parquet")


def test_hidden_and_underscore_files_are_ignored(tmp_path):
    ws = make(tmp_path)
    (ws / "events" / "_SUCCESS").write_text("")
    (ws / "events" / ".part-0.parquet.crc").write_text("crc")
    (ws / "events" / "_temporary").mkdir()
    (ws / "events" / "_temporary" / "part-9.csv").write_text("junk")
    p, out = run(tmp_path, ws)
    assert p.returncode == 0, p.stderr
    assert json.loads((out / "manifest.json").read_text())["counts"]["billed"] == 3


def test_a_metric_field_no_file_has_is_refused(tmp_path):
    events = [ev("a1", "2026-10-05T10:00", "api_call"), ev("h1", "2026-10-05T10:00", "compute", hours_used=1.5,
                                                            region="eu")]
    ws = make(tmp_path, events=events)
    refused(tmp_path, ws, "metrics[compute_hours]: field 'hours' is in no events file holding `compute` events",
            "hours_used", "correct the column name")
    v = usagebill("validate", str(ws))
    assert v.returncode != 0 and "field 'hours'" in v.stderr


def test_a_file_without_the_column_is_fine_when_another_file_of_that_type_has_it(tmp_path):
    old = [ev("h0", "2026-10-04T10:00", "compute", region="eu")]  # an older export without `hours`
    ws = make(tmp_path, events=[EVENTS, old])
    p, out = run(tmp_path, ws)
    assert p.returncode == 0, p.stderr
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert (counts["billed"], counts["invalid"]) == (3, 1)  # its event is quarantined for that metric


@pytest.mark.parametrize("header", ["time_zone", "Timezone ", "Time Zone", "timeZone", "time_zon"])
def test_a_misspelled_timezone_column_is_refused(tmp_path, header):
    ws = make(tmp_path, customers=[{"customer_id": "c1", "name": "One", "country": "US",
                                    "timezone": "America/Los_Angeles"}])
    rename_header(ws / "customers.csv", "timezone", header)
    refused(tmp_path, ws, f"customers.csv: column {header.strip()!r} looks like a misspelling of 'timezone'",
            "rename it to timezone")


def test_a_misspelled_billing_period_column_is_refused(tmp_path):
    ws = make(tmp_path, contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p",
                                    "start_date": "2026-10-01", "billing_period": "quarterly"}])
    rename_header(ws / "contracts.csv", "billing_period", "billing_perod")
    refused(tmp_path, ws, "contracts.csv: column 'billing_perod' looks like a misspelling of 'billing_period'")


def test_unknown_columns_unlike_any_known_one_are_kept_and_ignored(tmp_path):
    ws = make(tmp_path, customers=[{"customer_id": "c1", "name": "One", "country": "US", "segment": "smb",
                                    "account_manager": "Kim"}])
    p, _ = run(tmp_path, ws)
    assert p.returncode == 0, p.stderr


def test_a_metric_matching_nothing_beside_unmetered_events_is_warned(tmp_path):
    metrics = [{"id": "api_calls", "event_type": "api_calls", "aggregation": "count"}, HOURS]
    ws = make(tmp_path, metrics=metrics)
    p, out = run(tmp_path, ws)
    assert p.returncode == 0, p.stderr
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert [w["code"] for w in warnings] == ["metric_matched_nothing"]
    message = warnings[0]["message"]
    assert "metric api_calls (event_type 'api_calls') matched no event" in message
    assert "2 events of the unmetered event_type 'api_call'" in message
    assert f"warning: [metric_matched_nothing] {message}" in p.stderr
    assert "metric_matched_nothing" in (out / "report.html").read_text()


def test_no_warnings_is_an_empty_list(tmp_path):
    p, out = run(tmp_path, make(tmp_path))
    assert p.returncode == 0 and json.loads((out / "manifest.json").read_text())["warnings"] == []
    assert "warning:" not in p.stderr


def test_invalid_tax_id_is_taxed_without_reverse_charge_and_warned(tmp_path):
    customers = [{"customer_id": "fr-bad", "name": "Bad VAT SARL", "country": "FR", "tax_id": "FR40303265046"},
                 {"customer_id": "fr-ok", "name": "Good VAT SAS", "country": "FR", "tax_id": "FR40303265045"},
                 {"customer_id": "de", "name": "Inland GmbH", "country": "DE"}]
    contracts = [{"contract_id": f"k-{c['customer_id']}", "customer_id": c["customer_id"], "plan_id": "p",
                  "start_date": "2026-10-01"} for c in customers]
    ws = make(tmp_path, customers=customers, contracts=contracts, events=[],
              tax_rates=[{"country": "FR", "percent": "20"}, {"country": "DE", "percent": "19"}])
    assert COMPANY["country"] == "DE"  # an EU seller
    p, out = run(tmp_path, ws)
    assert p.returncode == 0, p.stderr
    invoices = {r["customer_id"]: r for r in pq.read_table(out / "invoices.parquet").to_pylist()}
    # flat 10 + api 0 + compute 0 = 10.00 each
    assert (invoices["fr-bad"]["tax_percent"], invoices["fr-bad"]["tax_note"], invoices["fr-bad"]["total"]) == \
        (Decimal(20), "", Decimal("12.00"))
    assert (invoices["fr-ok"]["tax_note"], invoices["fr-ok"]["total"]) == ("reverse_charge", Decimal("10.00"))
    assert invoices["de"]["total"] == Decimal("11.90")
    (warning,) = json.loads((out / "manifest.json").read_text())["warnings"]
    assert warning["code"] == "tax_id_invalid" and "customer fr-bad" in warning["message"]
    assert "warning: [tax_id_invalid]" in p.stderr
    v = usagebill("validate", str(ws))
    assert v.returncode == 0 and "[tax_id_invalid]" in v.stderr and "customer fr-bad" in v.stderr


def test_a_null_group_value_is_written_empty(tmp_path):
    events = [ev("h1", "2026-10-05T10:00", "compute", hours=1.0, region=None),
              ev("h2", "2026-10-05T11:00", "compute", hours=2.0, region="eu")]
    result = run_bill(make(tmp_path, events=events))
    keys = {r["group_key"]: r["quantity"] for r in result.lines.to_pylist() if r["charge_id"] == "compute"}
    assert keys == {"region=": Decimal(1), "region=eu": Decimal(2)}


def test_an_alias_bomb_is_refused(tmp_path):
    ws = make(tmp_path)
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdef"):
        prev = "abcde"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    (ws / "pricebook.yaml").write_text("\n".join(lines) + "\n")
    refused(tmp_path, ws, "pricebook.yaml", "expands to more than 100,000 values")


TIER_PRICES = st.lists(st.decimals(min_value=0, max_value=5, places=3, allow_nan=False), min_size=1, max_size=4)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prices=TIER_PRICES, bounds=st.lists(st.integers(1, 50), min_size=3, max_size=3, unique=True))
def test_a_pricebook_with_aliases_bills_as_its_alias_free_form(tmp_path_factory, prices, bounds):
    """yaml.dump writes anchors for shared objects; the run must read them as the values written out."""
    ups = sorted(bounds)[:len(prices) - 1]
    tiers = [{"up_to": u, "unit_price": str(p)} for u, p in zip(ups, prices)] + [{"unit_price": str(prices[-1])}]
    shared = {"model": "graduated", "tiers": tiers}
    plans = [{"id": "p", "currency": "USD", "charges": [
        {"id": "api", "metric": "api_calls", "min_amount": "1", **shared},
        {"id": "compute", "metric": "compute_hours", "tiers": tiers, "model": "volume"}]}]
    events = [ev(f"a{i}", "2026-10-05T10:00", "api_call") for i in range(37)] + [
        ev("h1", "2026-10-05T10:00", "compute", hours=17.25, region="eu")]
    results = []
    for dumper in ("alias", "plain"):
        root = tmp_path_factory.mktemp(dumper)
        ws = workspace(root / "ws", metrics=[CALLS, HOURS], charges=[], plans=plans, events=events)
        book = {"company": COMPANY, "metrics": [CALLS, HOURS], "plans": plans}
        if dumper == "alias":
            text = yaml.dump(book, sort_keys=False)
            assert "&id" in text and "*id" in text  # PyYAML shared the tier list
        else:
            text = json.dumps(book)  # JSON is YAML without anchors: the same values written out
        (ws / "pricebook.yaml").write_text(text)
        results.append(run_bill(ws))
    assert results[0].invoices.equals(results[1].invoices)
    assert results[0].lines.equals(results[1].lines)


def test_the_report_lists_the_warnings(tmp_path):
    customers = [{"customer_id": "c1", "name": "One", "country": "FR", "tax_id": "FR00000000000"}]
    p, out = run(tmp_path, make(tmp_path, customers=customers, tax_rates=[{"country": "*", "percent": "0"}]))
    assert p.returncode == 0, p.stderr
    html = (out / "report.html").read_text()
    assert "tax_id_invalid" in html and "customer c1" in html


def test_csv_columns_of_parquet_tables_follow_the_same_rule(tmp_path):
    import pyarrow as pa
    ws = make(tmp_path)
    rows = list(csv.DictReader((ws / "contracts.csv").open()))
    (ws / "contracts.csv").unlink()
    table = pa.table({("Billing Period" if k == "billing_period" else k): [r.get(k) for r in rows]
                      for k in [*rows[0].keys(), "billing_period"]})
    pq.write_table(table, ws / "contracts.parquet")
    refused(tmp_path, ws, "contracts.parquet: column 'Billing Period' looks like a misspelling of 'billing_period'")
