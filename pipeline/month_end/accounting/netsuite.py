"""NetSuite: CSV Import Assistant files for Invoice and Credit Memo transactions (single-file format).

NetSuite has no fixed template: the Import Assistant maps columns to the record's fields, and
matches columns named after the field labels by itself. The columns here carry the labels of the
Invoice and Credit Memo records' body fields and Items sublist (NetSuite Help, "Invoice Import",
"Import Format and Mapping Considerations"):
- one row per line; External ID (our number) on every row ties the lines of one transaction
  together, as single-file transaction imports require;
- Customer is our customer_id: map it as the customer's External ID;
- Item is required on every line (accounting.yaml item_codes; default: the charge id or line type);
- Tax Amount spreads the document's tax over its lines, adding up to it exactly;
- Date and Due Date in the account's date preference (accounting.yaml date_format);
- credit notes are Credit Memo records: a second file, positive amounts, Created From naming the
  invoice's External ID;
- prepaid credit drawn at issue: netsuite-credit-applications.csv, Customer Payments applying it
  to the invoices (accounting/allocations.py).
"""
from __future__ import annotations

from ..documents.model import Document
from .allocations import netsuite_file
from .config import SystemConfig
from .files import ExportFile, chunked
from .lines import export_lines, reference_text

INVOICE_HEADER = (
    "External ID", "Invoice #", "Customer", "Date", "Due Date", "Currency", "Subsidiary", "Account", "Memo",
    "Item", "Description", "Quantity", "Rate", "Amount", "Tax Code", "Tax Amount",
)
CREDIT_MEMO_HEADER = (
    "External ID", "Credit Memo #", "Customer", "Date", "Currency", "Subsidiary", "Account", "Created From", "Memo",
    "Item", "Description", "Quantity", "Rate", "Amount", "Tax Code", "Tax Amount",
)
NUMERIC = frozenset({"Date", "Due Date", "Quantity", "Rate", "Amount", "Tax Amount"})
QUANTITY_PLACES, PRICE_PLACES = 8, 8


def rows_of(doc: Document, cfg: SystemConfig) -> list[dict[str, str]]:
    tax_code = cfg.tax_code(doc.tax_note, doc.tax_percent, doc.tax_name)
    head = {"External ID": doc.number, "Customer": doc.customer_id, "Date": cfg.date(doc.issue_date),
            "Currency": doc.currency, "Subsidiary": cfg.extra.get("subsidiary", ""),
            "Account": cfg.extra.get("ar_account", ""), "Memo": reference_text(doc)}
    if doc.is_credit_note:
        head.update({"Credit Memo #": doc.number, "Created From": doc.reference or ""})
    else:
        head.update({"Invoice #": doc.number, "Due Date": cfg.date(doc.due_date or doc.issue_date)})
    out = []
    for x in export_lines(doc, QUANTITY_PLACES, PRICE_PLACES):
        charge, line_type = (x.line.charge_id, x.line.line_type) if x.line else (None, "")
        out.append({**head, "Item": cfg.item_for(charge, line_type, charge or line_type or "usage"),
                    "Description": x.description, "Quantity": f"{x.quantity:f}", "Rate": f"{x.unit_amount:f}",
                    "Amount": f"{x.amount:f}", "Tax Code": tax_code, "Tax Amount": f"{x.tax_amount:f}"})
    return out


def files(docs: list[Document], cfg: SystemConfig) -> list[ExportFile]:
    invoices = [rows_of(d, cfg) for d in docs if not d.is_credit_note]
    notes = [rows_of(d, cfg) for d in docs if d.is_credit_note]
    limit = cfg.max_documents_per_file
    return (chunked("netsuite-invoices", INVOICE_HEADER, NUMERIC, invoices, limit)
            + (chunked("netsuite-credit-memos", CREDIT_MEMO_HEADER, NUMERIC, notes, limit) if notes else [])
            + netsuite_file(docs, cfg))
