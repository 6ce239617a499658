"""The output tables rebuilt from the invoices as Python objects (pipeline/billing/invoice.py's
`build_invoice`, which explain and preview read): tests compare them with the run's columnar
tables (pipeline/billing/assemble.py), so the two ways of building an invoice cannot drift apart."""
from __future__ import annotations

import pyarrow as pa

from pipeline.billing import emit
from pipeline.billing.invoice import Invoice


def invoices_table(invoices: list[Invoice], payment_terms: dict[str, int]) -> pa.Table:
    rows = []
    for inv in invoices:
        b = inv.billed
        rows.append({"invoice_id": inv.invoice_id, "invoice_number": inv.invoice_number, "status": inv.status,
                     "customer_id": b.contract.customer_id, "contract_id": b.contract.contract_id,
                     "plan_id": b.contract.plan_id, "currency": inv.currency, "period_start": b.period.start,
                     "period_end": b.period.end, "issue_date": inv.issue_date,
                     "due_date": inv.due_date(payment_terms[b.contract.customer_id]), "subtotal": inv.subtotal,
                     "discount_total": inv.discount_total, "tax_percent": emit.quantize(inv.tax_percent, 6),
                     "tax_note": inv.tax_note, "tax_name": inv.tax_name, "tax_total": inv.tax_total,
                     "total": inv.total})
    return pa.Table.from_pylist(rows, schema=emit.INVOICE_SCHEMA)


def lines_table(invoices: list[Invoice]) -> pa.Table:
    rows = []
    for inv in invoices:
        start, end = inv.billed.period.start, inv.billed.period.end
        for line in inv.lines:
            rows.append({"invoice_id": inv.invoice_id, "line_number": line.line_number, "line_type": line.line_type,
                         "charge_id": line.charge_id, "metric_id": line.metric_id, "group_key": line.group_key,
                         "description": line.description, "quantity": line.quantity,
                         "unit_price": emit.quantize(line.unit_price, 12), "amount": line.amount,
                         "currency": inv.currency, "service_start": line.service_day or start,
                         "service_end": line.service_day or end})
    return pa.Table.from_pylist(rows, schema=emit.LINE_SCHEMA)


def usage_table(invoices: list[Invoice]) -> pa.Table:
    rows = [{"invoice_id": inv.invoice_id, "contract_id": inv.billed.contract.contract_id,
             "customer_id": inv.billed.contract.customer_id, "period_start": inv.billed.period.start,
             "period_end": inv.billed.period.end, "charge_id": line.charge_id, "metric_id": line.metric_id,
             "group_key": line.group_key, "quantity": line.quantity, "events": line.events}
            for inv in invoices for line in inv.lines if line.line_type == "usage"]
    return pa.Table.from_pylist(rows, schema=emit.USAGE_SCHEMA)


def assert_same_as_objects(result, workspace) -> None:
    """The run's invoices, lines and usage tables equal those built from its invoice objects."""
    from pipeline.config.workspace import load_workspace

    ws = load_workspace(workspace)
    terms = {c.customer_id: c.payment_terms_days for c in ws.customers.values()}
    objects = result.invoice_objects
    for name, table, expected in (("invoices", result.invoices, invoices_table(objects, terms)),
                                  ("invoice_lines", result.lines, lines_table(objects)),
                                  ("usage", result.usage, usage_table(objects))):
        assert table.schema == expected.schema, name
        if not table.equals(expected):
            got, want = table.to_pylist(), expected.to_pylist()
            diff = next((i, a, b) for i, (a, b) in enumerate(zip(got, want)) if a != b) if len(got) == len(want) \
                else (len(got), len(want))
            raise AssertionError(f"{name}: the columnar table differs from the objects' at {diff}")
