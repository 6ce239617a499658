"""pipeline/ledger/documents.py in process: each way a batch makes a document gives the caller the number the
document carries (the next of its series), and corrections and replacements are dated when they are issued and
due by the customer's payment terms. Headers and lines are written by hand; every expected number and date is
worked out below from the inputs, not by the code under test."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from pipeline.billing import emit
from pipeline.ledger.chains import Chain, NetLine
from pipeline.ledger.documents import Batch, Numbering

D = dt.date.fromisoformat
OCT_START, OCT_END = D("2026-10-01"), D("2026-11-01")
# the run's invoice: issued at the period end, due 30 days later (payment_terms_days 30)
RUN_DUE = D("2026-12-01")


def header(contract: str = "acme-1", total: str = "100.00", **kw) -> dict:
    money = Decimal(total)
    return {"invoice_id": f"in_{contract}", "invoice_number": None, "status": "draft", "customer_id": "acme",
            "contract_id": contract, "plan_id": "growth_usd", "currency": "USD", "period_start": OCT_START,
            "period_end": OCT_END, "issue_date": OCT_END, "due_date": RUN_DUE, "subtotal": money,
            "discount_total": Decimal("0.00"), "tax_percent": Decimal(0), "tax_note": "", "tax_name": "",
            "tax_total": Decimal("0.00"), "total": money, **kw}


def line(contract: str = "acme-1", amount: str = "100.00", quantity: str = "1000") -> dict:
    return {"invoice_id": f"in_{contract}", "line_number": 1, "line_type": "usage", "charge_id": "api",
            "metric_id": "api_calls", "group_key": "", "description": f"api: {quantity} api_calls",
            "quantity": Decimal(quantity), "unit_price": Decimal("0.1"), "amount": Decimal(amount),
            "currency": "USD", "service_start": OCT_START, "service_end": OCT_END}


def live(number: str, issued: dt.date = OCT_END, sequence: int = 2) -> dict:
    """The ledger header of a live invoice (what `original` and Chain.live hold)."""
    return {**header(), "invoice_number": number, "status": "issued", "issue_date": issued,
            "due_date": issued + dt.timedelta(days=30), "sequence": sequence}


def chain(number: str = "HC-2", total: str = "100.00", issued: dt.date = OCT_END) -> Chain:
    money = Decimal(total)
    net = {"subtotal": money, "discount_total": Decimal(0), "tax_total": Decimal(0), "total": money}
    lines = {("usage", "api", ""): NetLine("usage", "api", "api_calls", "", "api: 1000 api_calls", Decimal("0.1"),
                                           Decimal(1000), money)}
    return Chain(("acme-1", OCT_START), live(number, issued), [number], net, lines)


def batch(day: str = "2026-11-20", invoices: int = 4, credit_notes: int = 1) -> Batch:
    return Batch(7, D(day), Numbering("HC", {"invoice": invoices, "credit_note": credit_notes}))


def test_issue_gives_each_invoice_the_next_number_and_returns_it():
    b = batch()
    assert b.issue(header(), [line()]) == "HC-5"
    assert b.issue(header("globex-1"), [line("globex-1")]) == "HC-6"
    assert [(r["invoice_number"], r["sequence"], r["issue_date"], r["due_date"]) for r in b.invoices] == [
        ("HC-5", 5, OCT_END, RUN_DUE), ("HC-6", 6, OCT_END, RUN_DUE)]  # new invoices keep the run's dates
    assert [r["invoice_number"] for r in b.invoice_lines] == ["HC-5", "HC-6"]


def test_a_replacement_is_dated_when_issued_and_due_by_the_same_terms():
    b = batch("2026-11-20")
    assert b.issue(header(), [line()], original=live("HC-2")) == "HC-5"
    (new,) = b.invoices
    # issued 2026-11-20 (after the original's 2026-11-01), due 30 days later: 2026-12-20
    assert (new["issue_date"], new["due_date"], new["original_invoice_number"]) == (D("2026-11-20"),
                                                                                   D("2026-12-20"), "HC-2")


def run_tables(*contracts: str) -> tuple[pa.Table, pa.Table]:
    invoices = pa.Table.from_pylist([header(c) for c in contracts], schema=emit.INVOICE_SCHEMA)
    lines = pa.Table.from_pylist([line(c) for c in contracts], schema=emit.LINE_SCHEMA)
    return invoices, lines


def test_issue_row_returns_the_number_the_stored_row_carries():
    invoices, lines = run_tables("acme-1", "globex-1")
    b = batch()
    assert b.issue_row(invoices, lines, 0) == "HC-5"
    assert b.issue_row(invoices, lines, 1) == "HC-6"
    stored = b.tables()
    assert [(r["invoice_number"], r["contract_id"], r["issue_date"], r["due_date"])
            for r in stored["invoices"].to_pylist()] == [("HC-5", "acme-1", OCT_END, RUN_DUE),
                                                         ("HC-6", "globex-1", OCT_END, RUN_DUE)]
    assert stored["invoice_lines"].column("invoice_number").to_pylist() == ["HC-5", "HC-6"]


def test_a_batch_of_replacements_only_dates_every_one_when_issued():
    invoices, lines = run_tables("acme-1")
    b = batch("2026-11-20")
    assert b.issue_row(invoices, lines, 0, original=live("HC-2")) == "HC-5"
    (new,) = b.tables()["invoices"].to_pylist()
    assert (new["issue_date"], new["due_date"], new["original_invoice_number"]) == (D("2026-11-20"),
                                                                                   D("2026-12-20"), "HC-2")


def test_a_replacement_beside_a_new_invoice():
    invoices, lines = run_tables("acme-1", "globex-1")
    b = batch("2026-11-20")
    b.issue_row(invoices, lines, 0, original=live("HC-2"))
    b.issue_row(invoices, lines, 1)
    assert [(r["invoice_number"], r["issue_date"], r["due_date"]) for r in b.tables()["invoices"].to_pylist()] == [
        ("HC-5", D("2026-11-20"), D("2026-12-20")), ("HC-6", OCT_END, RUN_DUE)]


def test_a_replacement_of_an_invoice_dated_after_the_batch_takes_the_originals_date():
    b = batch("2026-11-20")
    b.issue(header(), [line()], original=live("HC-2", D("2026-11-25")))
    (new,) = b.invoices
    assert (new["issue_date"], new["due_date"]) == (D("2026-11-25"), D("2026-12-25"))


def test_cancel_returns_the_credit_notes_number():
    b = batch(credit_notes=1)
    assert b.cancel(chain("HC-2"), "cancellation") == "HC-CN-2"
    assert b.cancel(chain("HC-3"), "reissue") == "HC-CN-3"
    assert [(r["credit_note_number"], r["invoice_number"], r["reason"], r["total"]) for r in b.credit_notes] == [
        ("HC-CN-2", "HC-2", "cancellation", Decimal("100.00")), ("HC-CN-3", "HC-3", "reissue", Decimal("100.00"))]
    assert b.credited == ["HC-2", "HC-3"]


def test_an_adjustment_invoice_returns_its_number_and_is_due_by_the_terms():
    b = batch("2026-11-21")
    number = b.adjust(chain("HC-2"), header(total="101.20"), [line(amount="101.20", quantity="1012")])
    assert number == "HC-5"
    (adj,) = b.invoices
    # dated 2026-11-21, due 30 days later; it bills the difference 101.20 - 100.00
    assert (adj["invoice_number"], adj["kind"], adj["issue_date"], adj["due_date"], adj["total"]) == (
        "HC-5", "adjustment", D("2026-11-21"), D("2026-12-21"), Decimal("1.20"))
    assert [(r["invoice_number"], r["quantity"], r["amount"]) for r in b.invoice_lines] == [
        ("HC-5", Decimal(12), Decimal("1.20"))]


def test_a_lower_re_rating_returns_the_adjustment_credit_notes_number():
    b = batch("2026-11-21", credit_notes=3)
    number = b.adjust(chain("HC-2"), header(total="90.00"), [line(amount="90.00", quantity="900")])
    assert number == "HC-CN-4"
    (note,) = b.credit_notes
    assert (note["credit_note_number"], note["invoice_number"], note["reason"], note["issue_date"],
            note["total"]) == ("HC-CN-4", "HC-2", "adjustment", D("2026-11-21"), Decimal("10.00"))
    assert b.invoices == []
