"""Contract terms (data contract v2, section 5): plan versions, contract_terms.yaml, one-time charges.

Every expected amount is computed by hand in the comment beside it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from decimal import Decimal

import pytest
import yaml
from builders import ev, workspace, write_csv
from conftest import SCENARIOS, run_bill
from ledger_support import rows, usagebill

from pipeline.core.errors import ConfigError

CALLS = {"id": "calls", "event_type": "call", "aggregation": "count"}
GB = {"id": "gb", "event_type": "store", "aggregation": "weighted_sum", "field": "gb"}
PLATFORM = {"id": "platform", "model": "flat", "amount": 100}
API = {"id": "api", "metric": "calls", "model": "per_unit", "unit_price": "0.01", "min_amount": 5}
SEP_CALLS = [ev(f"s{i}", "2026-09-05T10:00") for i in range(100)]
OCT_CALLS = [ev(f"o{i}", "2026-10-05T10:00") for i in range(200)]


def make(tmp_path, *, versions=None, terms=None, one_time=None, contract=None, charges=None, currency="USD",
         metrics=None, events=None):
    plan = {"id": "p", "currency": currency, "charges": charges or [PLATFORM, API]}
    if versions:
        plan["versions"] = versions
    k = {"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-09-01", **(contract or {})}
    ws = workspace(tmp_path / "ws", metrics=metrics or [CALLS, GB], charges=[], plans=[plan], contracts=[k],
                   events=events if events is not None else SEP_CALLS + OCT_CALLS)
    if terms is not None:
        (ws / "contract_terms.yaml").write_text(yaml.safe_dump(terms, sort_keys=False))
    if one_time is not None:
        write_csv(ws / "one_time_charges.csv", one_time)
    return ws


def invoices(result):
    """period_start -> (header, [(line_type, charge_id, amount), ...] in line order)."""
    lines: dict[str, list] = {}
    for r in sorted(result.lines.to_pylist(), key=lambda r: (r["invoice_id"], r["line_number"])):
        lines.setdefault(r["invoice_id"], []).append((r["line_type"], r["charge_id"], r["amount"]))
    return {i["period_start"].isoformat(): (i, lines[i["invoice_id"]]) for i in result.invoices.to_pylist()}


D = Decimal


def test_version_dated_mid_period_waits_for_the_next_period(tmp_path):
    ws = make(tmp_path, versions=[{"effective_from": "2026-09-15", "charges": {"platform": {"amount": 120}}}])
    got = invoices(run_bill(ws, "2026-09-01", "2026-11-01"))
    # September started before the version: 100; api 100 x 0.01 = 1.00, minimum 5 - 1 = 4.00
    assert got["2026-09-01"][1] == [("flat", "platform", D("100.00")), ("usage", "api", D("1.00")),
                                    ("minimum", "api", D("4.00"))]
    # October: 120; api 200 x 0.01 = 2.00, minimum 3.00
    assert got["2026-10-01"][1] == [("flat", "platform", D("120.00")), ("usage", "api", D("2.00")),
                                    ("minimum", "api", D("3.00"))]


def test_null_removes_a_field(tmp_path):
    ws = make(tmp_path, terms={"k1": [{"effective_from": "2026-10-01", "charges": {"api": {"min_amount": None}}}]})
    got = invoices(run_bill(ws, "2026-09-01", "2026-11-01"))
    assert ("minimum", "api", D("4.00")) in got["2026-09-01"][1]
    assert got["2026-10-01"][1] == [("flat", "platform", D("100.00")), ("usage", "api", D("2.00"))]


def test_model_change_keeps_id_name_metric_and_min_amount(tmp_path):
    tiers = [{"up_to": 150, "unit_price": 0}, {"unit_price": "0.05"}]
    ws = make(tmp_path, terms={"k1": [{"charges": {"api": {"model": "graduated", "tiers": tiers}}}]})
    got = invoices(run_bill(ws))
    # 200 calls: 150 free, 50 x 0.05 = 2.50; min_amount 5 kept: minimum 2.50 (unit_price of per_unit dropped)
    assert got["2026-10-01"][1] == [("flat", "platform", D("100.00")), ("usage", "api", D("2.50")),
                                    ("minimum", "api", D("2.50"))]


def test_remove_then_add_and_the_name_on_the_line(tmp_path):
    ws = make(tmp_path, versions=[{"effective_from": "2026-10-01", "remove_charges": ["platform"],
                                   "add_charges": [{"id": "sso", "name": "SSO add-on", "model": "flat",
                                                    "amount": 25}]}])
    result = run_bill(ws)
    assert invoices(result)["2026-10-01"][1] == [("usage", "api", D("2.00")), ("minimum", "api", D("3.00")),
                                                 ("flat", "sso", D("25.00"))]
    sso = next(r for r in result.lines.to_pylist() if r["charge_id"] == "sso")
    assert sso["description"].startswith("SSO add-on")


def test_discount_and_commitment_change_by_date(tmp_path):
    ws = make(tmp_path, contract={"discount_percent": "10", "minimum_commitment": "50"},
              terms={"k1": [{"effective_from": "2026-10-01", "discount_percent": None, "minimum_commitment": 200}]})
    got = invoices(run_bill(ws, "2026-09-01", "2026-11-01"))
    sep, oct_ = got["2026-09-01"][0], got["2026-10-01"][0]
    # September: 100 + 1 + 4 = 105 >= 50; discount 10.50; total 94.50
    assert (sep["subtotal"], sep["discount_total"], sep["total"]) == (D("105.00"), D("10.50"), D("94.50"))
    # October: 105 < 200 -> commitment 95; no discount from this date
    assert got["2026-10-01"][1][-1] == ("commitment", None, D("95.00"))
    assert (oct_["subtotal"], oct_["discount_total"], oct_["total"]) == (D("200.00"), D("0.00"), D("200.00"))


def test_annual_contract_sees_a_price_rise_at_its_next_renewal(tmp_path):
    ws = make(tmp_path, contract={"start_date": "2026-01-01", "billing_period": "annual"}, events=[],
              versions=[{"effective_from": "2026-06-01", "charges": {"platform": {"amount": 120}}}])
    first = invoices(run_bill(ws, "2026-12-01", "2027-01-01"))["2026-01-01"][0]
    second = invoices(run_bill(ws, "2027-12-01", "2028-01-01"))["2027-01-01"][0]
    assert first["total"] == D("105.00")  # 100 (the old price all year) + 0 usage + minimum 5
    assert second["total"] == D("125.00")  # 120 + minimum 5


def test_one_time_is_outside_the_commitment_and_under_the_discount(tmp_path):
    ws = make(tmp_path, contract={"discount_percent": "10", "minimum_commitment": "150"},
              one_time=[{"charge_id": "setup", "contract_id": "k1", "date": "2026-10-12", "description": "Setup",
                         "unit_price": "300"}])
    inv, lines = invoices(run_bill(ws))["2026-10-01"]
    # charges and minimum 105 < 150: commitment 45 (the setup fee does not fill it); subtotal 105 + 300 + 45
    assert lines == [("flat", "platform", D("100.00")), ("usage", "api", D("2.00")), ("minimum", "api", D("3.00")),
                     ("one_time", "setup", D("300.00")), ("commitment", None, D("45.00")),
                     ("discount", None, D("-45.00"))]
    assert (inv["subtotal"], inv["discount_total"], inv["total"]) == (D("450.00"), D("45.00"), D("405.00"))


def test_one_time_lines_in_date_order_and_outside_other_periods(tmp_path):
    ws = make(tmp_path, one_time=[
        {"charge_id": "b", "contract_id": "k1", "date": "2026-10-20", "description": "Training", "quantity": "3",
         "unit_price": "45.50"},
        {"charge_id": "a", "contract_id": "k1", "date": "2026-10-20", "description": "Kit", "unit_price": "1"},
        {"charge_id": "z", "contract_id": "k1", "date": "2026-10-02", "description": "Early", "unit_price": "2"},
        {"charge_id": "nov", "contract_id": "k1", "date": "2026-11-01", "description": "Later", "unit_price": "9"}])
    result = run_bill(ws)
    _, lines = invoices(result)["2026-10-01"]
    assert [x for x in lines if x[0] == "one_time"] == [("one_time", "z", D("2.00")), ("one_time", "a", D("1.00")),
                                                         ("one_time", "b", D("136.50"))]  # 3 x 45.50
    b = next(r for r in result.lines.to_pylist() if r["charge_id"] == "b")
    assert (b["quantity"], b["unit_price"], b["metric_id"], b["group_key"]) == (D("3"), D("45.50"), None, "")
    assert b["service_start"].isoformat() == b["service_end"].isoformat() == "2026-10-20"


@pytest.mark.parametrize("currency, quantity, price, amount", [
    ("JPY", "3", "333.5", "1001"),  # 1000.5 rounds half away from zero to 1001
    ("KWD", "1.5", "0.3337", "0.501"),  # 0.50055 -> 0.501
    ("USD", "1", "0.005", "0.01"),  # 0.005 -> 0.01
])
def test_one_time_rounding(tmp_path, currency, quantity, price, amount):
    ws = make(tmp_path, currency=currency, charges=[{"id": "platform", "model": "flat", "amount": 0}],
              one_time=[{"charge_id": "x", "contract_id": "k1", "date": "2026-10-03", "description": "X",
                         "quantity": quantity, "unit_price": price}])
    _, lines = invoices(run_bill(ws))["2026-10-01"]
    assert lines[-1] == ("one_time", "x", D(amount))


def test_stub_period_with_a_one_time_fee_on_its_first_day(tmp_path):
    ws = make(tmp_path, contract={"start_date": "2026-10-12", "billing_anchor_day": "1"}, events=[],
              one_time=[{"charge_id": "setup", "contract_id": "k1", "date": "2026-10-12", "description": "Setup",
                         "unit_price": "300"}])
    _, lines = invoices(run_bill(ws))["2026-10-12"]
    # platform 100 x 20/31 = 64.516.. -> 64.52; minimum 5 x 20/31 = 3.2258.. -> 3.23
    assert lines == [("flat", "platform", D("64.52")), ("usage", "api", D("0.00")), ("minimum", "api", D("3.23")),
                     ("one_time", "setup", D("300.00"))]


def test_a_charge_added_later_bills_its_metric_from_then_and_the_real_opening_level(tmp_path):
    store = [ev("g1", "2026-09-10T00:00", "store", gb=10.0)]
    ws = make(tmp_path, events=SEP_CALLS + OCT_CALLS + store,
              versions=[{"effective_from": "2026-10-01",
                         "add_charges": [{"id": "storage", "metric": "gb", "model": "per_unit", "unit_price": 1}]}])
    result = run_bill(ws, "2026-09-01", "2026-11-01")
    got = invoices(result)
    assert all(x[1] != "storage" for x in got["2026-09-01"][1])
    # the +10 of September (unmetered then) is the opening level of October: 10 GB all month = 10.00
    assert ("usage", "storage", D("10.00")) in got["2026-10-01"][1]
    assert result.counts["unmetered"] == 1  # the store event, in a period whose terms meter no store


def test_contract_price_stays_over_a_later_plan_version(tmp_path):
    ws = make(tmp_path, terms={"k1": [{"charges": {"api": {"unit_price": "0.02"}}}]},
              versions=[{"effective_from": "2026-10-01", "charges": {"api": {"unit_price": "0.03"}}}])
    _, lines = invoices(run_bill(ws))["2026-10-01"]
    assert ("usage", "api", D("4.00")) in lines  # 200 x 0.02: the contract's entry applies after the version


def test_terms_example_sources_name_the_change(tmp_path):
    result = run_bill(SCENARIOS / "terms_example" / "ws")
    acme = next(i for i in result.invoice_objects if i.billed.contract.contract_id == "acme-1")
    sources = {c.id: c.source for c in acme.billed.terms.charges}
    assert sources == {"platform_fee": "plan growth_usd version 2026-10-01",
                       "api": "contract acme-1 terms from 2026-09-01", "compute": "plan growth_usd",
                       "support": "contract acme-1 terms from 2026-09-01"}


def test_no_terms_bills_exactly_as_before(tmp_path):
    src = SCENARIOS / "mixed" / "ws"
    before = run_bill(src, "2026-10-01", "2026-11-01")
    ws = tmp_path / "ws"
    shutil.copytree(src, ws)
    book = yaml.safe_load((ws / "pricebook.yaml").read_text())
    for plan in book["plans"]:  # a version far in the future changes no period billed now
        plan["versions"] = [{"effective_from": "2099-01-01", "charges": {plan["charges"][0]["id"]: {}}}]
    (ws / "pricebook.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    contracts = [line.split(",")[0] for line in (ws / "contracts.csv").read_text().splitlines()[1:]]
    (ws / "contract_terms.yaml").write_text(yaml.safe_dump({k: [] for k in contracts}))
    after = run_bill(ws, "2026-10-01", "2026-11-01")
    assert after.invoices.equals(before.invoices)
    assert after.lines.equals(before.lines)
    assert after.counts == before.counts


@pytest.mark.parametrize("kwargs, needle", [
    ({"versions": [{"effective_from": "2027-01-01", "charges": {"nope": {"amount": 1}}}]},
     "plans[p]: versions[2027-01-01]: charges[nope]: no charge 'nope' is in force here"),
    ({"versions": [{"effective_from": "2027-01-01", "add_charges": [{"id": "api", "model": "flat", "amount": 1}]}]},
     "versions[2027-01-01]: add_charges[api]: charge 'api' is already in force"),
    ({"versions": [{"effective_from": "2027-01-01", "charges": {"api": {"unit_price": -1}}}]},
     "versions[2027-01-01]: charges[api]: unit_price = -1 is below 0"),
    ({"versions": [{"charges": {"api": {"unit_price": 1}}}]}, "effective_from is missing"),
    ({"terms": {"k1": [{"effective_from": "2026-11-01", "charges": {"api": {"model": "per_unit"}}}]}},
     "contract_terms.yaml: k1 entry 1 (from 2026-11-01): charges[api]: unit_price is missing"),
    ({"terms": {"k9": [{"charges": {"api": {"unit_price": 1}}}]}}, "contract_terms.yaml: k9: unknown contract 'k9'"),
    ({"terms": {"k1": [{"charges": {"api": {"metric": "nope"}}}]}}, "unknown metric 'nope'"),
    ({"terms": {"k1": [{"remove_charges": ["nope"]}]}}, "remove_charges: no charge 'nope' is in force here"),
    ({"terms": {"k1": [{"discount_percent": 120}]}}, "discount_percent = 120 is above 100"),
    ({"one_time": [{"charge_id": "x", "contract_id": "k1", "date": "2026-08-31", "description": "X",
                    "unit_price": "1"}]}, "date 2026-08-31 is outside contract k1"),
    ({"one_time": [{"charge_id": "x", "contract_id": "k1", "date": "2026-10-01", "description": "X",
                    "unit_price": "1"}] * 2}, "duplicate charge_id 'x'"),
    ({"one_time": [{"charge_id": "x", "contract_id": "k7", "date": "2026-10-01", "description": "X",
                    "unit_price": "1"}]}, "unknown contract_id 'k7'"),
    ({"one_time": [{"charge_id": "x", "contract_id": "k1", "date": "2026-10-01", "description": "X",
                    "quantity": "0", "unit_price": "1"}]}, "quantity 0 is not above 0"),
])
def test_validation_names_where_and_what(tmp_path, kwargs, needle):
    ws = make(tmp_path, **kwargs)
    with pytest.raises(ConfigError) as exc:
        run_bill(ws)
    assert needle in str(exc.value)


def test_a_version_never_billed_by_this_run_is_still_validated(tmp_path):
    ws = make(tmp_path, versions=[{"effective_from": "2030-01-01", "charges": {"api": {"model": "volume"}}}])
    with pytest.raises(ConfigError, match=r"versions\[2030-01-01\]: charges\[api\]: tiers"):
        run_bill(ws)


def _terms_ws(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(SCENARIOS / "terms_example" / "ws", ws)
    return ws


def test_reconcile_ignores_a_future_version_and_adjusts_a_late_one_time_charge_once(tmp_path):
    ws = _terms_ws(tmp_path)
    october = ["--from", "2026-10-01", "--to", "2026-11-01"]
    assert usagebill("issue", str(ws), *october).returncode == 0
    book = yaml.safe_load((ws / "pricebook.yaml").read_text())
    book["plans"][0]["versions"].append({"effective_from": "2027-01-01", "charges": {"platform_fee": {"amount": 79}}})
    (ws / "pricebook.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    same = usagebill("reconcile", str(ws), *october)
    assert same.returncode == 0 and "0 differ" in same.stdout  # a price rise next year changes nothing issued
    with (ws / "one_time_charges.csv").open("a") as fh:
        fh.write("late-fee,umbrella-1,2026-10-30,Late setup,1,20\n")
    late = usagebill("reconcile", str(ws), *october)
    assert late.returncode == 3 and "one_time late-fee" in late.stdout and "+20.00 USD" in late.stdout
    # umbrella: the fee is outside the commitment (88.15 stays); tax 20 % of +20.00 = +4.00
    assert "tax: amount 30.00 -> 34.00 (+4.00 USD)" in late.stdout
    adjusted = usagebill("reconcile", str(ws), *october, "--adjust")
    assert adjusted.returncode == 0 and "issued 1 invoice (HC-5)" in adjusted.stdout
    again = usagebill("reconcile", str(ws), *october)
    assert again.returncode == 0 and "0 differ" in again.stdout


def test_terms_command_shows_the_timeline(tmp_path):
    ws = _terms_ws(tmp_path)
    out = usagebill("terms", str(ws), "--contract", "acme-1", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [(b["from"], b["until"]) for b in doc["blocks"]] == [("2026-09-01", "2026-10-01"), ("2026-10-01", None)]
    sep, oct_ = doc["blocks"]
    price = {c["id"]: c["prices"] for c in oct_["charges"]}
    assert D(sep["charges"][0]["prices"]["amount"]) == 49 and D(price["platform_fee"]["amount"]) == 59
    assert price["api"] == {"unit_price": "0.0008", "free_units": "0"}
    assert [c["id"] for c in oct_["charges"]] == ["platform_fee", "api", "compute", "support"]
    assert doc["one_time_charges"][0]["charge_id"] == "train-acme"
    umbrella = json.loads(usagebill("terms", str(ws), "--contract", "umbrella-1", "--format", "json").stdout)
    # the commitment change dated 2026-10-15 waits for the period starting 2026-11-01
    assert [(b["from"], b["minimum_commitment"]) for b in umbrella["blocks"]] == [("2026-10-01", "150"),
                                                                                   ("2026-11-01", "200")]
    table = usagebill("terms", str(ws), "--contract", "acme-1", "--from", "2026-10-01")
    assert "contract acme-1 terms from 2026-09-01" in table.stdout and "amount 49 " not in table.stdout


def test_explain_names_the_terms_behind_each_line(tmp_path):
    ws = _terms_ws(tmp_path)
    invoice_id = "in_" + hashlib.sha256(b"acme-1\x1f2026-10-01").hexdigest()[:24]
    out = usagebill("explain", str(ws), "--invoice", invoice_id, "--format", "json")
    assert out.returncode == 0, out.stderr
    lines = {x["charge_id"]: x for x in json.loads(out.stdout)["lines"]}
    assert lines["platform_fee"]["terms_source"] == "plan growth_usd version 2026-10-01"
    assert lines["api"]["terms_source"] == "contract acme-1 terms from 2026-09-01"
    assert lines["train-acme"]["terms_source"] == "one_time_charges"
    assert lines["train-acme"]["pricing"]["formula"] == "3 x 45.50"


def test_the_ledger_records_which_terms_priced_each_issued_line(tmp_path):
    ws = _terms_ws(tmp_path)
    assert usagebill("issue", str(ws), "--from", "2026-10-01", "--to", "2026-11-01").returncode == 0
    got = {(r["invoice_number"], r["line_number"]): r["terms_source"] for r in rows(
        ws / "ledger.duckdb", "SELECT * FROM invoice_line_terms ORDER BY invoice_number, line_number")}
    # HC-2 is acme-1 (issued in period_end, contract_id order after initech-1, which ends 10-25)
    assert [got[("HC-2", n)] for n in range(1, 7)] == [
        "plan growth_usd version 2026-10-01", "contract acme-1 terms from 2026-09-01", "plan growth_usd",
        "plan growth_usd", "contract acme-1 terms from 2026-09-01", "one_time_charges"]
    assert got[("HC-4", 5)] == "contracts.csv"  # umbrella's commitment of 150: its entry waits for November
    assert len(got) == sum(1 for _ in rows(ws / "ledger.duckdb", "SELECT * FROM invoice_lines"))


@pytest.mark.parametrize("value, shown", [
    ("24.429530201", "24.43"), ("2545", "2545"), ("430.420000000", "430.42"), ("7.305", "7.31"), ("1.995", "2"),
    ("0.004567", "0.00457"), ("0.000000001", "0.000000001"), ("0.9995", "1"), ("100.000000000", "100"),
    ("-3.5", "-3.5"),
])
def test_quantities_on_documents_are_shown_at_a_sensible_precision(value, shown):
    from pipeline.core.money import show_quantity
    assert show_quantity(D(value)) == shown


def _storage_ws(tmp_path, hide_zero: bool):
    metrics = [CALLS, {**GB, "unit": "GB-month"}]
    charges = [{"id": "platform", "name": "Platform fee", "model": "flat", "amount": 100},
               {"id": "api", "name": "API calls", "metric": "calls", "model": "per_unit", "unit_price": "0.01"},
               {"id": "storage", "name": "Storage", "metric": "gb", "model": "per_unit", "unit_price": "0.5"}]
    # +24.429530201 GB at the start of October, held all month: 24.429530201 GB-months
    store = [ev("g1", "2026-09-30T23:00", "store", gb=24.429530201)]
    ws = make(tmp_path, charges=charges, metrics=metrics, events=store,
              terms={"k1": [{"charges": {"platform": {"amount": 90}}}]},
              versions=[{"effective_from": "2026-10-01", "charges": {"storage": {"unit_price": "0.4"}}}],
              one_time=[{"charge_id": "setup", "contract_id": "k1", "date": "2026-10-12",
                         "description": "Onboarding workshop", "unit_price": "250"}])
    if hide_zero:
        (ws / "settings.yaml").write_text("pdf: {hide_zero_usage_lines: true}\n")
    return ws


@pytest.mark.parametrize("hide_zero", [False, True])
def test_pdf_shows_names_units_and_the_terms_of_the_period(tmp_path, hide_zero):
    from pypdf import PdfReader
    ws = _storage_ws(tmp_path, hide_zero)
    assert usagebill("issue", str(ws), "--from", "2026-10-01", "--to", "2026-11-01").returncode == 0
    out = usagebill("render", str(ws), "--format", "pdf", "--out", str(tmp_path / "pdf"))
    assert out.returncode == 0, out.stderr
    reader = PdfReader(tmp_path / "pdf" / "TS-1.pdf")
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Storage: 24.43 GB-month" in text and "24.429530201" not in text
    assert "9.77" in text  # 24.429530201 x 0.4 (the version's price) = 9.7718.. -> 9.77
    assert "Platform fee" in text and "90.00" in text  # the contract's own price
    assert "Onboarding workshop" in text and "250.00" in text
    assert "349.77" in text  # 90 + 0 + 9.77 + 250
    assert ("API calls: 0 calls" in text) is not hide_zero


def test_preview_uses_the_terms_of_the_open_period(tmp_path):
    ws = _terms_ws(tmp_path)
    out = usagebill("preview", str(ws), "--contract", "umbrella-1", "--as-of", "2026-11-15", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    # umbrella's commitment of 200 is dated 2026-10-15: in force from the period starting 2026-11-01
    assert D(doc["invoice"]["subtotal"]) == 200
    assert [x["line_type"] for x in doc["lines"]][-1] == "commitment"


def _mixed_copy(tmp_path, name):
    ws = tmp_path / name
    shutil.copytree(SCENARIOS / "mixed" / "ws", ws)
    return ws, yaml.safe_load((ws / "pricebook.yaml").read_text())


def _write_book(ws, book):
    (ws / "pricebook.yaml").write_text(yaml.safe_dump(book, sort_keys=False))


@pytest.mark.parametrize("where", ["version", "contract_terms"])
def test_a_change_in_force_from_the_start_bills_as_the_same_edit_of_the_plan(tmp_path, where):
    """Every period of the mixed scenario (daily to annual, stubs, five currencies) is priced from the
    start with the changed terms: a version dated before every contract, or an entry per contract
    without a date, must bill exactly as the plan edited by hand."""
    tiers = [{"up_to": 100, "unit_price": "0.5"}, {"unit_price": "0.25", "flat_fee": 3}]
    change = {"fee": {"amount": 7}, "req": {"model": "graduated", "tiers": tiers}, "cpu": {"unit_price": None}}
    edited_ws, edited = _mixed_copy(tmp_path, "edited")
    for plan in edited["plans"]:
        for c in plan["charges"]:
            if c["id"] == "fee":
                c["amount"] = 7
            elif c["id"] == "req":
                keep = {k: c[k] for k in ("id", "name", "metric", "min_amount") if k in c}
                c.clear()
                c.update({**keep, "model": "graduated", "tiers": tiers})
        plan["charges"] = [c for c in plan["charges"] if c["id"] != "cpu"]
        plan["charges"].append({"id": "setup", "model": "flat", "amount": 1, "prorate": False})
    _write_book(edited_ws, edited)
    changed_ws, book = _mixed_copy(tmp_path, "changed")
    entry = {"charges": {k: v for k, v in change.items() if k != "cpu"}, "remove_charges": ["cpu"],
             "add_charges": [{"id": "setup", "model": "flat", "amount": 1, "prorate": False}]}
    if where == "version":
        for plan in book["plans"]:
            plan["versions"] = [{"effective_from": "2000-01-01", **entry}]
        _write_book(changed_ws, book)
    else:
        contracts = [line.split(",")[0] for line in (changed_ws / "contracts.csv").read_text().splitlines()[1:]]
        (changed_ws / "contract_terms.yaml").write_text(yaml.safe_dump({k: [entry] for k in contracts}))
    a, b = run_bill(edited_ws, "2026-10-01", "2026-11-01"), run_bill(changed_ws, "2026-10-01", "2026-11-01")
    assert a.invoices.num_rows > 20
    assert a.invoices.equals(b.invoices)
    assert a.lines.equals(b.lines)
    assert a.counts == b.counts  # the same events unmetered (cpu no longer metered anywhere)
    assert a.usage.equals(b.usage)
