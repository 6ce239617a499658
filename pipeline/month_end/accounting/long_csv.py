"""Our own long CSV: one row per document line, the document's header fields repeated on each.

Invoices (kinds invoice and adjustment, any status) and credit notes in one file, told apart by
document_type; amounts exactly as in the ledger (credit notes: what is credited, positive). A
document without lines is one row with empty line columns, so that every document is there.
Dates are ISO, money has exactly its currency's digits. Prepaid credit the invoices drew at issue
goes to credit_allocations.csv beside it (accounting/allocations.py), when there is any.
"""
from __future__ import annotations

from ..documents.model import Document
from .allocations import csv_file
from .files import ExportFile

HEADER = (
    "document_type", "number", "kind", "status", "reference", "reason", "customer_id", "customer_name",
    "contract_id", "plan_id", "currency", "period_start", "period_end", "issue_date", "due_date", "subtotal",
    "discount_total", "tax_percent", "tax_note", "tax_name", "tax_total", "total", "line_number", "line_type",
    "charge_id", "metric_id", "group_key", "description", "quantity", "unit_price", "amount", "service_start",
    "service_end",
)
NUMERIC = frozenset({"period_start", "period_end", "issue_date", "due_date", "subtotal", "discount_total",
                     "tax_percent", "tax_total", "total", "line_number", "quantity", "unit_price", "amount",
                     "service_start", "service_end"})


def _plain(value) -> str:  # Decimal or None
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return text


def rows_of(doc: Document) -> list[dict[str, str]]:
    head = {"document_type": doc.document_type, "number": doc.number, "kind": doc.kind, "status": doc.status,
            "reference": doc.reference or "", "reason": doc.reason or "", "customer_id": doc.customer_id,
            "customer_name": doc.buyer.name, "contract_id": doc.contract_id, "plan_id": doc.plan_id,
            "currency": doc.currency, "period_start": doc.period_start.isoformat(),
            "period_end": doc.period_end.isoformat(), "issue_date": doc.issue_date.isoformat(),
            "due_date": doc.due_date.isoformat() if doc.due_date else "",
            **{k: doc.money(getattr(doc, k)) for k in ("subtotal", "discount_total", "tax_total", "total")},
            "tax_percent": _plain(doc.tax_percent), "tax_note": doc.tax_note, "tax_name": doc.tax_name}
    if not doc.lines:
        return [head]
    return [{**head, "line_number": str(x.line_number), "line_type": x.line_type, "charge_id": x.charge_id or "",
             "metric_id": x.metric_id or "", "group_key": x.group_key, "description": x.description,
             "quantity": f"{x.quantity:f}", "unit_price": _plain(x.unit_price), "amount": doc.money(x.amount),
             "service_start": x.service_start.isoformat(), "service_end": x.service_end.isoformat()}
            for x in doc.lines]


def files(docs: list[Document], cfg: object = None) -> list[ExportFile]:
    rows = [r for d in docs for r in rows_of(d)]
    return [ExportFile("documents.csv", HEADER, NUMERIC, rows, len(docs), newline="\n")] + csv_file(docs)
