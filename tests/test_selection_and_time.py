"""Which events a run considers: customer selection, local-midnight boundaries across DST, contract
activity, and empty or missing event folders."""
from __future__ import annotations

import dataclasses
import shutil
from decimal import Decimal

import pytest
from builders import ev, workspace
from conftest import lines_by, run_bill
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.errors import CheckError, InputDataError
from schemas import validate_bill

METRICS = [{"id": "calls", "event_type": "call", "aggregation": "count"}]
CHARGES = [{"id": "calls", "metric": "calls", "model": "per_unit", "unit_price": 1}]
CUSTOMERS = [{"customer_id": "c1", "name": "UTC Ltd", "country": "US"},
             {"customer_id": "c2", "name": "New York Inc", "country": "US", "timezone": "America/New_York"}]
CONTRACTS = [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-01"},
             {"contract_id": "k2", "customer_id": "c2", "plan_id": "p", "start_date": "2026-09-01"}]
EVENTS = [
    ev("a1", "2026-10-02T00:00", customer_id="c1"),
    ev("a2", "2026-10-31T23:59:59", customer_id="c1"),
    ev("b0", "2026-10-01T03:59:59", customer_id="c2"),  # 23:59:59 on Sep 30 in New York: September's period
    ev("b1", "2026-10-01T04:00", customer_id="c2"),  # local midnight of Oct 1 (EDT, UTC-4)
    ev("b2", "2026-11-01T03:59:59", customer_id="c2"),  # 23:59:59 on Oct 31 local: still October
    ev("b3", "2026-11-01T04:00", customer_id="c2"),  # November in New York, and past the span's end
]


@pytest.fixture
def ws(tmp_path):
    return workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=EVENTS, customers=CUSTOMERS,
                     contracts=CONTRACTS)


def test_periods_follow_local_midnight_across_zones(ws):
    result = run_bill(ws)
    by_contract = {i["contract_id"]: i for i in result.invoices.to_pylist()}
    quantities = {}
    for line in result.lines.to_pylist():
        if line["line_type"] == "usage":
            quantities[line["invoice_id"]] = line["quantity"]
    assert quantities[by_contract["k1"]["invoice_id"]] == 2
    assert quantities[by_contract["k2"]["invoice_id"]] == 2  # b1 and b2
    # span: Oct 1 00:00 UTC (k1) to Nov 1 04:00 UTC (k2): b3 is not read, b0 is read but is September's
    assert result.counts["read"] == 5
    assert result.counts["billed"] == 4
    assert result.counts["outside_window"] == 1


def test_contract_selection_considers_only_the_selected_customers_events(ws):
    result = run_bill(ws, contracts=("k1",))
    assert [i["contract_id"] for i in result.invoices.to_pylist()] == ["k1"]
    assert result.counts["read"] == 2 and result.counts["billed"] == 2


def test_customer_selection(ws):
    result = run_bill(ws, customers=("c2",))
    assert [i["contract_id"] for i in result.invoices.to_pylist()] == ["k2"]
    assert result.counts["read"] == 2  # b1, b2: the span is Oct 1 04:00Z .. Nov 1 04:00Z, b0 is before it


def test_events_outside_the_contract_are_no_active_contract(tmp_path):
    contracts = [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-10",
                  "end_date": "2026-10-20", "billing_anchor_day": "1"}]
    events = [ev("e1", "2026-10-05T00:00"), ev("e2", "2026-10-15T00:00"), ev("e3", "2026-10-25T00:00")]
    result = run_bill(workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=events,
                                contracts=contracts))
    (invoice,) = result.invoices.to_pylist()
    assert (str(invoice["period_start"]), str(invoice["period_end"])) == ("2026-10-10", "2026-10-20")
    # span is only Oct 10..20: e1 and e3 fall outside it and are not read
    assert result.counts == {"read": 1, "billed": 1, "duplicate": 0, "invalid": 0, "unknown_customer": 0,
                             "no_active_contract": 0, "unmetered": 0, "outside_window": 0}


def test_no_active_contract_inside_the_span(tmp_path):
    customers = [{"customer_id": "c1", "name": "One", "country": "US"},
                 {"customer_id": "c2", "name": "Two", "country": "US"}]
    contracts = [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-01"},
                 {"contract_id": "k2", "customer_id": "c2", "plan_id": "p", "start_date": "2026-10-10",
                  "billing_anchor_day": "1"}]
    events = [ev("e1", "2026-10-05T00:00", customer_id="c2"), ev("e2", "2026-10-15T00:00", customer_id="c2")]
    result = run_bill(workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=events,
                                customers=customers, contracts=contracts))
    assert result.counts["no_active_contract"] == 1 and result.counts["billed"] == 1
    assert result.quarantine.column("reason").to_pylist() == ["no_active_contract"]


def test_empty_events_folder_bills_zero_usage(tmp_path):
    ws = workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=[])
    result = run_bill(ws)
    assert result.counts["read"] == 0
    assert lines_by(result)[("usage", "calls", "")]["quantity"] == 0


def test_missing_events_folder_is_an_input_error(tmp_path):
    ws = workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=[])
    shutil.rmtree(ws / "events")
    with pytest.raises(InputDataError, match="events folder not found"):
        run_bill(ws)


def test_pandera_catches_a_tampered_total(ws):
    result = run_bill(ws)
    totals = result.invoices.column("total").to_pylist()
    totals[0] += 1
    import pyarrow as pa

    tampered = result.invoices.set_column(result.invoices.schema.get_field_index("total"), "total",
                                          pa.array(totals, result.invoices.schema.field("total").type))
    with pytest.raises(CheckError, match="total_is_subtotal_less_discount_plus_tax"):
        validate_bill(dataclasses.replace(result, invoices=tampered))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.integers(0, 40), price=st.decimals("0", "3", places=4), discount=st.decimals("0", "100", places=2),
       commitment=st.one_of(st.none(), st.decimals("0", "50", places=2)), currency=st.sampled_from(["USD", "JPY",
                                                                                                    "KWD"]),
       start_day=st.integers(1, 28))
def test_invoices_always_add_up(tmp_path_factory, calls, price, discount, commitment, currency, start_day):
    """Whatever the prices, discount, commitment and currency: lines sum to the header, money is rounded."""
    contracts = [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": f"2026-10-{start_day:02d}",
                  "billing_anchor_day": "1", "discount_percent": str(discount),
                  "minimum_commitment": "" if commitment is None else str(commitment)}]
    charges = [{"id": "fee", "model": "flat", "amount": 9.99}, {"id": "calls", "metric": "calls", "model": "per_unit",
                                                                "unit_price": float(price), "min_amount": 1}]
    events = [ev(f"e{i}", f"2026-10-{start_day:02d}T{i % 24:02d}:00") for i in range(calls)]
    ws = workspace(tmp_path_factory.mktemp("prop") / "ws", metrics=METRICS, charges=charges, events=events,
                   contracts=contracts, currency=currency)
    result = run_bill(ws)  # runs the Pandera models, which raise on any broken rule
    (invoice,) = result.invoices.to_pylist()
    lines = result.lines.to_pylist()
    digits = {"USD": 2, "JPY": 0, "KWD": 3}[currency]
    assert invoice["subtotal"] == sum(x["amount"] for x in lines if x["line_type"] != "discount")
    assert invoice["total"] == invoice["subtotal"] - invoice["discount_total"] + invoice["tax_total"]
    assert all(x["amount"] == round(x["amount"], digits) for x in lines)
    assert 0 <= invoice["discount_total"] <= invoice["subtotal"]
    assert lines_by(result)[("usage", "calls", "")]["quantity"] == calls


@pytest.mark.parametrize(("second", "rule"), [(3, "InvoiceTotals failed.*lines_are_numbered_one_to_n"),
                                              (1, "InvoiceLines failed.*numbers_are_unique_and_rising"),
                                              (0, "InvoiceLines failed.*greater_than_or_equal_to")])
def test_pandera_catches_lines_not_numbered_one_to_n(tmp_path, second, rule):
    """Numbers 1..n per invoice: a gap (1, 3), a number twice (1, 1) or one below 1 (0) stops the run."""
    import pyarrow as pa

    charges = [{"id": "fee", "model": "flat", "amount": 5}, *CHARGES]
    result = run_bill(workspace(tmp_path / "ws", metrics=METRICS, charges=charges, events=EVENTS,
                                customers=CUSTOMERS, contracts=CONTRACTS))
    numbers = result.lines.column("line_number").to_pylist()
    assert numbers[:2] == [1, 2]
    numbers[1] = second
    tampered = result.lines.set_column(result.lines.schema.get_field_index("line_number"), "line_number",
                                       pa.array(numbers, pa.int32()))
    with pytest.raises(CheckError, match=rule):
        validate_bill(dataclasses.replace(result, lines=tampered))


def test_pandera_catches_a_line_that_does_not_add_up_to_its_header(tmp_path):
    """InvoiceTotals sums each invoice's lines (grouped as runs of one invoice's lines): one line's
    amount changed, on an invoice that is not the first, stops the run."""
    import pyarrow as pa

    charges = [{"id": "fee", "model": "flat", "amount": 5}, *CHARGES]
    result = run_bill(workspace(tmp_path / "ws", metrics=METRICS, charges=charges, events=EVENTS,
                                customers=CUSTOMERS, contracts=CONTRACTS))
    validate_bill(result)  # as the run made it: every sum holds
    ids = result.lines.column("invoice_id").to_pylist()
    assert len(set(ids)) > 1
    row = ids.index(ids[-1])  # the first line of the last invoice
    amounts = result.lines.column("amount").to_pylist()
    amounts[row] += 1
    tampered = result.lines.set_column(result.lines.schema.get_field_index("amount"), "amount",
                                       pa.array(amounts, result.lines.schema.field("amount").type))
    with pytest.raises(CheckError, match="InvoiceTotals failed.*lines_sum_to_header"):
        validate_bill(dataclasses.replace(result, lines=tampered))


def test_pandera_catches_a_usage_row_twice(tmp_path):
    """Usage keys (invoice_id, charge_id, group_key) are unique: a row repeated stops the run."""
    import pyarrow as pa

    result = run_bill(workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=EVENTS,
                                customers=CUSTOMERS, contracts=CONTRACTS))
    assert result.usage.num_rows > 1
    validate_bill(result)
    twice = pa.concat_tables([result.usage, result.usage.slice(result.usage.num_rows - 1)])
    with pytest.raises(CheckError, match="Usage failed.*keys_are_unique"):
        validate_bill(dataclasses.replace(result, usage=twice))


def test_pandera_rounds_money_by_each_rows_currency(tmp_path):
    """money_is_rounded reads each row's digits by its currency: a JPY invoice with a cent stops the run,
    the same bill read with two digits passes, and a currency the run has no digits for stops it too."""
    import pyarrow as pa

    result = run_bill(workspace(tmp_path / "ws", metrics=METRICS, charges=[{"id": "fee", "model": "flat",
                                                                            "amount": 5}],
                                events=[], currency="JPY"))
    validate_bill(result)
    assert set(result.digits) == {"JPY"} and result.digits["JPY"] == 0

    def with_cent(table: pa.Table, name: str) -> pa.Table:
        values = table.column(name).to_pylist()
        values[0] += Decimal("0.01")
        kind = table.schema.field(name).type
        return table.set_column(table.schema.get_field_index(name), name, pa.array(values, kind))

    lines = with_cent(result.lines, "amount")
    invoices = with_cent(with_cent(result.invoices, "subtotal"), "total")
    with pytest.raises(CheckError, match="Invoices failed.*money_is_rounded"):
        validate_bill(dataclasses.replace(result, lines=lines, invoices=invoices))
    validate_bill(dataclasses.replace(result, lines=lines, invoices=invoices, digits={"JPY": 2}))
    with pytest.raises(CheckError, match="digits"):
        validate_bill(dataclasses.replace(result, digits={"USD": 2}))
