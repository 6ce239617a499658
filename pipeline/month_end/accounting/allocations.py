"""Prepaid credit applied at issue, for accounting: one row per allocation of the exported invoices.

An invoice issued with prepaid credit (pipeline/ledger/credits.py) asks only its amount due; the
accounting system learns what paid the rest from a separate file (docs/credits.md):

- csv: `credit_allocations.csv`, ours (the invoice, its customer and currency, the source: a
  grant with its id and description, or the customer's credit; the amount; `released` when the
  invoice was credited since, its credit going back to the grant or to the customer's credit);
- netsuite: `netsuite-credit-applications.csv`, a Customer Payment import (single-file format,
  NetSuite Help "Import File Examples": body fields External ID, Customer, Date, then the Apply
  sublist's invoice and payment amount), one payment per allocation, taken from the account that
  holds the prepaid money (accounting.yaml netsuite: prepaid_account) onto the A/R account;
- Xero and QuickBooks Online import no allocations from a file: no file (docs/credits.md says how
  to allocate there).

Written only when an exported invoice drew credit, so exports without credit are as before.
"""
from __future__ import annotations

from ..documents.model import Document
from .config import SystemConfig
from .files import ExportFile

CSV_HEADER = ("invoice_number", "customer_id", "customer_name", "currency", "issue_date", "status", "source",
              "grant_id", "description", "amount", "invoice_total", "amount_due")
CSV_NUMERIC = frozenset({"issue_date", "amount", "invoice_total", "amount_due"})
NETSUITE_HEADER = ("External ID", "Customer", "Date", "Currency", "Subsidiary", "Account", "A/R Account", "Memo",
                   "Invoice", "Payment Amount")
NETSUITE_NUMERIC = frozenset({"Date", "Payment Amount"})


def _source(source: str, grant_id: str | None, description: str) -> str:
    if source != "grant":
        return "Customer credit"
    return f"Prepaid credit {grant_id}" + (f" ({description})" if description else "")


def csv_file(docs: list[Document]) -> list[ExportFile]:
    rows = [{"invoice_number": d.number, "customer_id": d.customer_id, "customer_name": d.buyer.name,
             "currency": d.currency, "issue_date": d.issue_date.isoformat(),
             "status": "released" if d.status == "credited" else "applied", "source": c.source,
             "grant_id": c.grant_id or "", "description": c.description, "amount": d.money(c.amount),
             "invoice_total": d.money(d.total), "amount_due": d.money(d.amount_due)}
            for d in docs for c in d.credits]
    if not rows:
        return []
    return [ExportFile("credit_allocations.csv", CSV_HEADER, CSV_NUMERIC, rows,
                       sum(bool(d.credits) for d in docs), newline="\n")]


def netsuite_file(docs: list[Document], cfg: SystemConfig) -> list[ExportFile]:
    """Customer payments applying the credit to the invoices still issued (a credited invoice's is released)."""
    rows = [{"External ID": f"{d.number}-CR-{k}", "Customer": d.customer_id, "Date": cfg.date(d.issue_date),
             "Currency": d.currency, "Subsidiary": cfg.extra.get("subsidiary", ""),
             "Account": cfg.extra.get("prepaid_account", ""), "A/R Account": cfg.extra.get("ar_account", ""),
             "Memo": _source(c.source, c.grant_id, c.description), "Invoice": d.number,
             "Payment Amount": d.money(c.amount)}
            for d in docs if d.status != "credited" for k, c in enumerate(d.credits, start=1)]
    if not rows:
        return []
    return [ExportFile("netsuite-credit-applications.csv", NETSUITE_HEADER, NETSUITE_NUMERIC, rows,
                       len({r["Invoice"] for r in rows}))]
