"""Broken workspaces: load_workspace raises one ConfigError naming file, row or key (DATA_CONTRACT.md 1, 4).

Each test copies the valid example workspace and breaks one thing.
customers.csv rows: acme (line 2, US), globex (3, DE), initech (4, FR), umbrella (5, GB).
contracts.csv rows: acme-1 (line 2), globex-1 (3), initech-1 (4), umbrella-1 (5), all on plan growth_usd.
"""
from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from pipeline.config.workspace import load_workspace
from pipeline.core.errors import ConfigError

EXAMPLE = Path(__file__).parent / "scenarios" / "example" / "ws"



@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLE, root)
    return root


# helpers -------------------------------------------------------------------------------------------------------

def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})


def edit_csv(root: Path, name: str, edit) -> None:
    """edit(rows) mutates the list of row dicts in place."""
    header, rows = read_rows(root / name)
    edit(rows)
    write_rows(root / name, header, rows)


def set_cell(root: Path, name: str, key_col: str, key: str, col: str, value: str) -> None:
    def edit(rows):
        [row] = [r for r in rows if r[key_col] == key]
        row[col] = value
    edit_csv(root, name, edit)


def edit_pricebook(root: Path, edit) -> None:
    path = root / "pricebook.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def plan(data: dict, plan_id: str) -> dict:
    return next(p for p in data["plans"] if p["id"] == plan_id)


def charge(data: dict, plan_id: str, charge_id: str) -> dict:
    return next(c for c in plan(data, plan_id)["charges"] if c["id"] == charge_id)


def add_contract(root: Path, **cells: str) -> None:
    edit_csv(root, "contracts.csv", lambda rows: rows.append(dict(cells)))


def config_error(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    return info.value


def assert_problem(exc: ConfigError, *needles: str) -> str:
    """One problem of exc contains every needle; the whole message contains it too."""
    hits = [p for p in exc.problems if all(n in p for n in needles)]
    assert hits, f"no problem contains {needles!r}; problems: {exc.problems}"
    assert hits[0] in str(exc)
    return hits[0]


# the base is valid -------------------------------------------------------------------------------------------

def test_example_workspace_loads(ws):
    loaded = load_workspace(ws)
    assert sorted(loaded.contracts) == ["acme-1", "globex-1", "initech-1", "umbrella-1"]
    assert loaded.contracts["acme-1"].anchor_day == 1  # defaults to start_date's day
    assert loaded.customers["globex"].timezone == "UTC"


# pricebook.yaml ----------------------------------------------------------------------------------------------

def test_unknown_plan(ws):
    set_cell(ws, "contracts.csv", "contract_id", "acme-1", "plan_id", "enterprise")
    exc = config_error(ws)
    assert_problem(exc, "contracts.csv line 2", "unknown plan_id 'enterprise'", "growth_usd")
    assert len(exc.problems) == 1


def test_unknown_metric_in_a_charge(ws):
    edit_pricebook(ws, lambda d: charge(d, "growth_usd", "api").update(metric="api_callz"))
    exc = config_error(ws)
    assert_problem(exc, "pricebook.yaml: plans[growth_usd]: charges[api]", "unknown metric 'api_callz'",
                   "api_calls, compute_hours")


def test_unknown_customer_in_contracts(ws):
    add_contract(ws, contract_id="wayne-1", customer_id="wayne", plan_id="growth_usd", start_date="2026-10-01")
    exc = config_error(ws)
    assert_problem(exc, "contracts.csv line 6", "unknown customer_id 'wayne'")


def test_tiers_not_strictly_increasing(ws):
    edit_pricebook(ws, lambda d: charge(d, "growth_usd", "api")["tiers"][1].update(up_to=1000))
    exc = config_error(ws)
    assert_problem(exc, "plans[growth_usd]: charges[api].tiers[1]", "up_to 1000 is not above the previous bound 1000")


def test_tiers_decreasing(ws):
    edit_pricebook(ws, lambda d: charge(d, "growth_usd", "api")["tiers"][1].update(up_to=500))
    exc = config_error(ws)
    assert_problem(exc, "plans[growth_usd]: charges[api].tiers[1]", "up_to 500 is not above the previous bound 1000")


def test_tier_with_null_up_to_in_the_middle(ws):
    edit_pricebook(ws, lambda d: charge(d, "growth_usd", "api")["tiers"][1].update(up_to=None))
    exc = config_error(ws)
    assert_problem(exc, "plans[growth_usd]: charges[api].tiers[1]")


@pytest.mark.parametrize(
    "edit, where, what",
    [
        (lambda d: charge(d, "growth_usd", "compute").update(unit_price=-0.12),
         "plans[growth_usd]: charges[compute]", "unit_price = -0.12 is below 0"),
        (lambda d: charge(d, "growth_usd", "platform_fee").update(amount=-49.0),
         "plans[growth_usd]: charges[platform_fee]", "amount = -49.0 is below 0"),
        (lambda d: charge(d, "growth_usd", "api")["tiers"][1].update(unit_price=-0.001),
         "plans[growth_usd]: charges[api].tiers[1]", "unit_price = -0.001 is below 0"),
        (lambda d: charge(d, "growth_usd", "api")["tiers"][1].update(flat_fee=-5),
         "plans[growth_usd]: charges[api].tiers[1]", "flat_fee = -5 is below 0"),
    ],
)
def test_negative_price(ws, edit, where, what):
    edit_pricebook(ws, edit)
    assert_problem(config_error(ws), f"pricebook.yaml: {where}", what)


@pytest.mark.parametrize("code", ["XYZ", "EURO", "xyz"])
def test_unknown_currency(ws, code):
    edit_pricebook(ws, lambda d: plan(d, "growth_usd").update(currency=code))
    assert_problem(config_error(ws), "pricebook.yaml: plans[growth_usd]", f"unknown currency {code.upper()!r}")


def test_unknown_charge_model(ws):
    edit_pricebook(ws, lambda d: charge(d, "growth_usd", "compute").update(model="tiered"))
    assert_problem(config_error(ws), "plans[growth_usd]: charges[compute]", "unknown charge model 'tiered'")


def test_unknown_key_in_a_charge(ws):
    edit_pricebook(ws, lambda d: charge(d, "growth_usd", "compute").update(unitprice=1))
    assert_problem(config_error(ws), "plans[growth_usd]: charges[compute]", "unknown key 'unitprice'")


def test_object_tag_is_refused_and_not_executed(ws, tmp_path):
    marker = tmp_path / "pwned"
    text = (ws / "pricebook.yaml").read_text(encoding="utf-8")
    (ws / "pricebook.yaml").write_text(
        f'exploit: !!python/object/apply:os.system ["touch {marker}"]\n' + text, encoding="utf-8")
    exc = config_error(ws)
    assert_problem(exc, "pricebook.yaml line 1")
    assert not marker.exists()


def test_python_name_tag_is_refused(ws):
    text = (ws / "pricebook.yaml").read_text(encoding="utf-8")
    (ws / "pricebook.yaml").write_text(text.replace("name: Heldout Cloud GmbH", "name: !!python/name:os.system"),
                                       encoding="utf-8")
    assert_problem(config_error(ws), "pricebook.yaml line 2")


def test_yaml_alias_is_accepted_as_the_value_written_out(ws):
    text = (ws / "pricebook.yaml").read_text(encoding="utf-8")
    text = text.replace("    tiers:\n    - up_to: 1000", "    tiers: &api_tiers\n    - up_to: 1000", 1)
    text += ("  - id: api_volume\n    metric: api_calls\n    model: volume\n    tiers: *api_tiers\n")
    (ws / "pricebook.yaml").write_text(text, encoding="utf-8")
    charges = {c.id: c for c in load_workspace(ws).pricebook.plans["growth_usd"].charges}  # contract v2
    assert charges["api_volume"].params.tiers == charges["api"].params.tiers
    assert [t.up_to for t in charges["api_volume"].params.tiers] == [Decimal(1000), Decimal(100000), None]


def test_yaml_numbers_are_exact_decimals(ws):
    loaded = load_workspace(ws)
    compute = next(c for c in loaded.pricebook.plans["growth_usd"].charges if c.id == "compute")
    assert str(compute.params.unit_price) == "0.12"


# customers.csv -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone", ["America/Chicag", "Mars/Olympus", "CET+1"])
def test_unknown_timezone(ws, zone):
    set_cell(ws, "customers.csv", "customer_id", "acme", "timezone", zone)
    assert_problem(config_error(ws), "customers.csv line 2", f"timezone {zone!r} is not an IANA time zone")


def test_malformed_tax_id_is_a_warning_not_an_error(ws):
    set_cell(ws, "customers.csv", "customer_id", "globex", "tax_id", "DE136695977")
    loaded = load_workspace(ws)  # contract v2: one customer's typo does not stop everyone's billing
    ((code, message),) = loaded.warnings
    assert code == "tax_id_invalid" and "customer globex" in message and "customers.csv line 3" in message
    assert "tax_id 'DE136695977' fails the checksum rules of DE" in message


def test_malformed_company_tax_id(ws):
    text = (ws / "pricebook.yaml").read_text(encoding="utf-8")
    (ws / "pricebook.yaml").write_text(text.replace("DE136695976", "DE136695977"), encoding="utf-8")
    assert_problem(config_error(ws), "pricebook.yaml: company", "tax_id 'DE136695977'")


def test_duplicate_customer_ids(ws):
    edit_csv(ws, "customers.csv", lambda rows: rows.append({"customer_id": "acme", "name": "Acme again",
                                                            "country": "US"}))
    exc = config_error(ws)
    assert_problem(exc, "customers.csv line 6", "duplicate customer_id 'acme'")


def test_unknown_country(ws):
    set_cell(ws, "customers.csv", "customer_id", "umbrella", "country", "UK")
    assert_problem(config_error(ws), "customers.csv line 5", "country 'UK'")


# tax_rates.csv -----------------------------------------------------------------------------------------------

def test_missing_tax_rate(ws):
    edit_csv(ws, "tax_rates.csv", lambda rows: rows.__setitem__(slice(None), [r for r in rows
                                                                              if r["country"] not in ("GB", "*")]))
    exc = config_error(ws)
    assert_problem(exc, "tax_rates", "no rate for country GB (customer umbrella)", "'*'")
    assert_problem(exc, "tax_rates", "no rate for country US (customer acme)")
    assert len(exc.problems) == 2


def test_star_rate_covers_unlisted_countries(ws):
    edit_csv(ws, "tax_rates.csv", lambda rows: rows.__setitem__(slice(None), [r for r in rows if r["country"] != "GB"]))
    assert load_workspace(ws).tax_rates["*"][0] == 0


# contracts.csv -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("end", ["2026-08-01", "2026-09-01"])  # before, and equal to, start_date 2026-09-01
def test_end_date_not_after_start_date(ws, end):
    set_cell(ws, "contracts.csv", "contract_id", "acme-1", "end_date", end)
    assert_problem(config_error(ws), "contracts.csv line 2", f"end_date {end} is not after start_date 2026-09-01")


@pytest.mark.parametrize("anchor", ["0", "32", "-1", "15.5", "x"])
def test_bad_anchor_day(ws, anchor):
    set_cell(ws, "contracts.csv", "contract_id", "globex-1", "billing_anchor_day", anchor)
    assert_problem(config_error(ws), "contracts.csv line 3", "billing_anchor_day")


@pytest.mark.parametrize("anchor", ["1", "31"])
def test_anchor_day_bounds_are_valid(ws, anchor):
    set_cell(ws, "contracts.csv", "contract_id", "globex-1", "billing_anchor_day", anchor)
    assert load_workspace(ws).contracts["globex-1"].anchor_day == int(anchor)


def test_unknown_billing_period(ws):
    set_cell(ws, "contracts.csv", "contract_id", "acme-1", "billing_period", "yearly")
    assert_problem(config_error(ws), "contracts.csv line 2", "billing_period 'yearly' is unknown")


def test_duplicate_contract_ids(ws):
    add_contract(ws, contract_id="acme-1", customer_id="globex", plan_id="growth_usd", start_date="2030-01-01")
    assert_problem(config_error(ws), "contracts.csv line 6", "duplicate contract_id 'acme-1'")


# overlapping contracts ---------------------------------------------------------------------------------------

def add_split_plans(root: Path) -> None:
    """api_only meters api_call, compute_only meters compute, flat_only meters nothing."""
    def edit(d):
        d["plans"] += [
            {"id": "api_only", "currency": "USD",
             "charges": [{"id": "api", "metric": "api_calls", "model": "per_unit", "unit_price": 0.001}]},
            {"id": "compute_only", "currency": "USD",
             "charges": [{"id": "compute", "metric": "compute_hours", "model": "per_unit", "unit_price": 0.12}]},
            {"id": "flat_only", "currency": "USD", "charges": [{"id": "fee", "model": "flat", "amount": 10}]},
        ]
    edit_pricebook(root, edit)


def test_overlapping_contracts_same_event_type(ws):
    add_contract(ws, contract_id="acme-2", customer_id="acme", plan_id="growth_usd", start_date="2026-10-15")
    exc = config_error(ws)
    assert_problem(exc, "contracts acme-1 and acme-2", "customer acme", "api_call, compute")


def test_overlap_of_one_shared_event_type(ws):
    add_split_plans(ws)
    add_contract(ws, contract_id="acme-2", customer_id="acme", plan_id="api_only", start_date="2026-10-15")
    assert_problem(config_error(ws), "contracts acme-1 and acme-2", "event_type api_call")


def test_overlap_by_one_day(ws):
    set_cell(ws, "contracts.csv", "contract_id", "acme-1", "end_date", "2026-10-16")
    add_contract(ws, contract_id="acme-2", customer_id="acme", plan_id="growth_usd", start_date="2026-10-15")
    assert_problem(config_error(ws), "contracts acme-1 and acme-2")


def test_later_contract_listed_first_still_overlaps(ws):
    def edit(rows):
        rows.insert(0, {"contract_id": "acme-0", "customer_id": "acme", "plan_id": "growth_usd",
                        "start_date": "2026-08-01",
                            "end_date": "2026-09-02"})
    edit_csv(ws, "contracts.csv", edit)
    assert_problem(config_error(ws), "contracts acme-0 and acme-1")


def test_no_overlap_when_one_ends_as_the_other_starts(ws):
    set_cell(ws, "contracts.csv", "contract_id", "acme-1", "end_date", "2026-10-15")  # exclusive
    add_contract(ws, contract_id="acme-2", customer_id="acme", plan_id="growth_usd", start_date="2026-10-15")
    assert set(load_workspace(ws).contracts) >= {"acme-1", "acme-2"}


def test_no_overlap_error_for_different_event_types(ws):
    add_split_plans(ws)
    set_cell(ws, "contracts.csv", "contract_id", "acme-1", "plan_id", "api_only")
    add_contract(ws, contract_id="acme-2", customer_id="acme", plan_id="compute_only", start_date="2026-09-01")
    add_contract(ws, contract_id="acme-3", customer_id="acme", plan_id="flat_only", start_date="2026-09-01")
    assert set(load_workspace(ws).contracts) >= {"acme-1", "acme-2", "acme-3"}


def test_no_overlap_error_across_customers(ws):
    add_contract(ws, contract_id="globex-2", customer_id="acme", plan_id="growth_usd", start_date="2020-01-01",
                 end_date="2026-09-01")
    assert "globex-2" in load_workspace(ws).contracts


# every problem at once ---------------------------------------------------------------------------------------

def test_several_problems_reported_together(ws):
    set_cell(ws, "contracts.csv", "contract_id", "acme-1", "plan_id", "enterprise")
    set_cell(ws, "contracts.csv", "contract_id", "globex-1", "billing_anchor_day", "32")
    set_cell(ws, "customers.csv", "customer_id", "initech", "timezone", "Mars/Olympus")
    edit_pricebook(ws, lambda d: plan(d, "growth_usd").update(currency="XYZ"))
    exc = config_error(ws)
    assert len(exc.problems) >= 4
    assert_problem(exc, "contracts.csv line 2", "enterprise")
    assert_problem(exc, "contracts.csv line 3", "billing_anchor_day")
    assert_problem(exc, "customers.csv line 4", "Mars/Olympus")
    assert_problem(exc, "plans[growth_usd]", "XYZ")
    assert str(exc).startswith(f"{len(exc.problems)} configuration problems:")
