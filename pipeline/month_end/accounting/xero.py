"""Xero: the sales invoice import template (Business > Invoices > Import), one row per line item.

Columns, in the order of Xero's SalesInvoiceTemplate.csv (Xero Central, "Import or create
invoices using a CSV file"; a leading * marks a required column). Xero rules applied here:
- at most 500 invoices per file: several files, a document's lines never split;
- InvoiceDate and DueDate in the organisation's regional format (accounting.yaml date_format);
- one row per line, the invoice's fields repeated; Xero computes tax from TaxType (tax-exclusive
  amounts: choose "Tax exclusive" when importing);
- a credit note is imported from the same file with negative amounts (Xero makes it a credit note).
"""
from __future__ import annotations

from ..documents.model import Document
from .config import SystemConfig
from .files import ExportFile, chunked
from .lines import export_lines, reference_text, signed

HEADER = (
    "*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3", "POAddressLine4",
    "POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
    "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount", "*AccountCode", "*TaxType",
    "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency", "BrandingTheme",
)
NUMERIC = frozenset({"*InvoiceDate", "*DueDate", "*Quantity", "*UnitAmount", "Discount"})
QUANTITY_PLACES, PRICE_PLACES = 4, 4  # Xero keeps 4 decimal places of quantity and unit price


def rows_of(doc: Document, cfg: SystemConfig) -> list[dict[str, str]]:
    b = doc.buyer
    sign = -1 if doc.is_credit_note else 1
    tax_type = cfg.tax_code(doc.tax_note, doc.tax_percent, doc.tax_name)
    head = {
        "*ContactName": b.name, "EmailAddress": b.email or "", "POAddressLine1": b.address_line1 or "",
        "POAddressLine2": b.address_line2 or "", "POCity": b.city or "", "POPostalCode": b.postal_code or "",
        "POCountry": b.country, "*InvoiceNumber": doc.number, "Reference": reference_text(doc),
        "*InvoiceDate": cfg.date(doc.issue_date), "*DueDate": cfg.date(doc.due_date or doc.issue_date),
        "Currency": doc.currency, "BrandingTheme": cfg.extra.get("branding_theme", ""),
    }
    out = []
    for x in export_lines(doc, QUANTITY_PLACES, PRICE_PLACES):
        charge, line_type = (x.line.charge_id, x.line.line_type) if x.line else (None, "")
        out.append({**head, "InventoryItemCode": cfg.item_for(charge, line_type), "*Description": x.description,
                    "*Quantity": f"{x.quantity:f}", "*UnitAmount": signed(x.unit_amount, sign),
                    "*AccountCode": cfg.account_for(charge, line_type), "*TaxType": tax_type})
    return out


def files(docs: list[Document], cfg: SystemConfig) -> list[ExportFile]:
    return chunked("xero-sales-invoices", HEADER, NUMERIC, [rows_of(d, cfg) for d in docs], cfg.max_documents_per_file)
