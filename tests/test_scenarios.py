"""Scenario tests: a workspace in, the expected invoices out (the public conformance cases, copied)."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import SCENARIOS, run_bill

CASES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "expected.json").exists())
HEADER = ["customer_id", "currency", "period_end", "issue_date", "due_date", "subtotal", "discount_total",
          "tax_percent", "tax_note", "tax_total", "total"]


def norm(value):
    if value is None or value == "":
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:
        return Decimal(str(value)).normalize()
    except ArithmeticError:
        return str(value)


@pytest.fixture(scope="module", params=CASES)
def case(request):
    expected = json.loads((SCENARIOS / request.param / "expected.json").read_text())
    return expected, run_bill(SCENARIOS / request.param / "ws", expected["from"], expected["to"])


def test_counts(case):
    expected, result = case
    assert {k: result.counts[k] for k in expected["counts"]} == expected["counts"]


def test_invoices_and_lines(case):
    expected, result = case
    got = {(i["contract_id"], i["period_start"].isoformat()): i for i in result.invoices.to_pylist()}
    want = {(i["contract_id"], i["period_start"]): i for i in expected["invoices"]}
    assert sorted(got) == sorted(want)
    lines: dict[str, list] = {}
    for line in result.lines.to_pylist():
        lines.setdefault(line["invoice_id"], []).append(line)
    for key, w in want.items():
        g = got[key]
        assert {f: norm(g[f]) for f in HEADER} == {f: norm(w[f]) for f in HEADER}, key
        glines = {(x["line_type"], x["charge_id"] or "", x["group_key"]):
                  (x["line_number"], norm(x["amount"]), norm(x["quantity"]) if x["line_type"] == "usage" else "")
                  for x in lines[g["invoice_id"]]}
        wlines = {(x["line_type"], x["charge_id"] or "", x["group_key"] or ""):
                  (x["line_number"], norm(x["amount"]), norm(x["quantity"]) if x["line_type"] == "usage" else "")
                  for x in w["lines"]}
        assert glines == wlines, key


def test_totals_per_currency_add_up(case):
    _, result = case
    totals = result.totals()
    for currency, t in totals.items():
        rows = [r for r in result.invoices.to_pylist() if r["currency"] == currency]
        assert Decimal(t["total"]) == sum(r["total"] for r in rows)
