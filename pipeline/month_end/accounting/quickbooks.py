"""QuickBooks Online: the invoice import (Settings > Import data > Invoices), one row per line item.

Columns as in QuickBooks Online's sample invoice import file (Intuit help, "Import invoices in
batches"; the non-US layout, which takes a tax code and tax amount per line):
- InvoiceNo, Customer, InvoiceDate, DueDate and ItemAmount are required; dates in the format
  chosen at import (accounting.yaml date_format); InvoiceNo holds at most 21 characters;
- ItemTaxAmount spreads the invoice's tax over its lines so that they add up to it exactly;
- QuickBooks' invoice import takes invoices only: credit notes go to a second file of the same
  layout (positive amounts) for entering as credit memos.
"""
from __future__ import annotations

from ...core.errors import BillingError
from ..documents.model import Document
from .config import SystemConfig
from .files import ExportFile, chunked
from .lines import export_lines, reference_text

HEADER = (
    "InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Location", "Memo", "Item(Product/Service)",
    "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode", "ItemTaxAmount", "Currency",
    "Service Date",
)
NUMERIC = frozenset({"InvoiceDate", "DueDate", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxAmount",
                     "Service Date"})
QUANTITY_PLACES, PRICE_PLACES = 4, 5  # QuickBooks: rates to 5 decimal places
MAX_NUMBER = 21  # DocNumber


def rows_of(doc: Document, cfg: SystemConfig) -> list[dict[str, str]]:
    if len(doc.number) > MAX_NUMBER:
        raise BillingError(f"{doc.number}: QuickBooks invoice numbers hold at most {MAX_NUMBER} characters; "
                           "shorten invoice_prefix in pricebook.yaml for new numbers")
    tax_code = cfg.tax_code(doc.tax_note, doc.tax_percent, doc.tax_name)
    head = {"InvoiceNo": doc.number, "Customer": doc.buyer.name, "InvoiceDate": cfg.date(doc.issue_date),
            "DueDate": cfg.date(doc.due_date or doc.issue_date),
            "Terms": "" if doc.is_credit_note else f"Net {doc.payment_terms_days}",
            "Location": cfg.extra.get("location", ""), "Memo": reference_text(doc), "Currency": doc.currency}
    out = []
    for x in export_lines(doc, QUANTITY_PLACES, PRICE_PLACES):
        charge, line_type = (x.line.charge_id, x.line.line_type) if x.line else (None, "")
        out.append({**head, "Item(Product/Service)": cfg.item_for(charge, line_type),
                    "ItemDescription": x.description, "ItemQuantity": f"{x.quantity:f}",
                    "ItemRate": f"{x.unit_amount:f}", "ItemAmount": f"{x.amount:f}", "ItemTaxCode": tax_code,
                    "ItemTaxAmount": f"{x.tax_amount:f}",
                    "Service Date": cfg.date(x.line.service_start if x.line else doc.period_start)})
    return out


def files(docs: list[Document], cfg: SystemConfig) -> list[ExportFile]:
    invoices = [rows_of(d, cfg) for d in docs if not d.is_credit_note]
    notes = [rows_of(d, cfg) for d in docs if d.is_credit_note]
    return (chunked("quickbooks-invoices", HEADER, NUMERIC, invoices, cfg.max_documents_per_file)
            + (chunked("quickbooks-credit-memos", HEADER, NUMERIC, notes, cfg.max_documents_per_file) if notes else []))
