"""Issued documents as the ledger holds them, with the seller and buyer printed on them.

One `Document` per invoice document (kind `invoice` or `adjustment`, of any status) or credit
note. Amounts are exactly the ledger's (credit notes: what is credited, positive). The seller
comes from pricebook.yaml `company`, the buyer from the workspace's customers as they are now
(the ledger keeps the customer_id only).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from ...config.workspace import ADDRESS_FIELDS, Workspace
from ...core.errors import BillingError
from ...core.money import currency_digits
from ...ledger.store import Ledger


@dataclass(frozen=True)
class Party:
    name: str
    country: str
    tax_id: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    email: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # phone, website, iban, bic (seller)

    @property
    def address_lines(self) -> list[str]:
        """The postal address as printed: street lines, then postal code and city, then country."""
        town = " ".join(x for x in (self.postal_code, self.city) if x)
        return [x for x in (self.address_line1, self.address_line2, town, self.country) if x]


@dataclass(frozen=True)
class DocumentLine:
    line_number: int
    line_type: str  # flat, usage, minimum, commitment, discount
    charge_id: str | None
    metric_id: str | None
    group_key: str
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    amount: Decimal
    service_start: dt.date
    service_end: dt.date


@dataclass(frozen=True)
class CreditApplied:
    """Prepaid credit an invoice drew when it was issued (pipeline/ledger/credits.py)."""

    source: str  # grant | customer_credit
    grant_id: str | None
    description: str  # the grant's description ('' when none)
    amount: Decimal


@dataclass
class Document:
    document_type: str  # invoice | credit_note
    number: str
    kind: str  # invoice | adjustment | credit_note
    status: str  # issued | credited (credit notes: issued)
    reference: str | None  # adjustment/reissue: the invoice it adjusts or replaces; credit note: the invoice credited
    reason: str | None  # credit notes: reissue | adjustment | cancellation
    customer_id: str
    contract_id: str
    plan_id: str
    currency: str
    period_start: dt.date
    period_end: dt.date  # exclusive, as everywhere in usagebill
    issue_date: dt.date
    due_date: dt.date | None  # credit notes have none
    subtotal: Decimal
    discount_total: Decimal
    tax_percent: Decimal
    tax_note: str
    tax_name: str
    tax_total: Decimal
    total: Decimal
    seller: Party
    buyer: Party
    payment_terms_days: int
    lines: list[DocumentLine] = field(default_factory=list)
    credits: list[CreditApplied] = field(default_factory=list)  # drawn at issue; empty for credit notes

    @property
    def prepaid(self) -> Decimal:
        """Prepaid credit applied when it was issued (EN 16931 BT-113, paid amount)."""
        return sum((c.amount for c in self.credits), Decimal(0))

    @property
    def amount_due(self) -> Decimal:
        """What the document asks to be paid: total - prepaid credit (BT-115)."""
        return self.total - self.prepaid

    @property
    def digits(self) -> int:
        return currency_digits(self.currency) or 0

    @property
    def last_day(self) -> dt.date:
        """The period's last day (period_end is exclusive)."""
        return self.period_end - dt.timedelta(days=1)

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == "credit_note"

    def money(self, value: Decimal) -> str:
        """An amount with exactly the currency's digits (values are already rounded to them)."""
        return f"{value.quantize(Decimal(1).scaleb(-self.digits)):f}"


def seller_of(ws: Workspace) -> Party:
    c = ws.pricebook.company
    extra = dict(c.extra)
    return Party(c.name, c.country, c.tax_id, extra.get("address_line1"), extra.get("address_line2"),
                 extra.get("city"), extra.get("postal_code"), extra.get("email"),
                 tuple((k, v) for k, v in c.extra if k in ("phone", "website", "iban", "bic")))


def buyer_of(ws: Workspace, customer_id: str) -> tuple[Party, int]:
    """The customer as printed, and its payment terms; a customer no longer in the workspace keeps its id as name."""
    c = ws.customers.get(customer_id)
    if c is None:
        return Party(customer_id, ""), 30
    a = dict(zip(ADDRESS_FIELDS, c.address))
    return Party(c.name, c.country, c.tax_id, a.get("address_line1"), a.get("address_line2"), a.get("city"),
                 a.get("postal_code"), a.get("email")), c.payment_terms_days


def load_documents(ledger: Ledger, ws: Workspace, *, first: dt.date | None = None, stop: dt.date | None = None,
                   numbers: tuple[str, ...] = ()) -> list[Document]:
    """The issued documents whose issue_date is in [first, stop), or only those numbered `numbers`.

    Order: issue_date, invoices before credit notes, then number. An unknown number is an error.
    """
    headers = ledger.fetch("document_headers", {"first": first if not numbers else None,
                                                "stop": stop if not numbers else None}).to_pylist()
    if numbers:
        wanted = set(numbers)
        found = {h["number"] for h in headers}
        missing = [n for n in numbers if n not in found]
        if missing:
            raise BillingError(f"{ledger.path}: no issued invoice or credit note numbered {', '.join(missing)}; "
                               "list them with `usagebill invoices` and `usagebill credit-notes`")
        headers = [h for h in headers if h["number"] in wanted and
                   (first is None or h["issue_date"] >= first) and (stop is None or h["issue_date"] < stop)]
    seller = seller_of(ws)
    docs = []
    for h in headers:
        buyer, terms = buyer_of(ws, h["customer_id"])
        docs.append(Document(**h, seller=seller, buyer=buyer, payment_terms_days=terms))
    if docs:
        selected = pa.table({"position": pa.array(range(len(docs)), pa.int64()),
                             "document_type": pa.array([d.document_type for d in docs], pa.string()),
                             "number": pa.array([d.number for d in docs], pa.string())})
        for r in ledger.fetch("document_lines", selected=selected).to_pylist():
            docs[r.pop("position")].lines.append(DocumentLine(**{k: v for k, v in r.items() if k != "number"}))
        for r in ledger.fetch("credit_document_allocations", selected=selected).to_pylist():
            docs[r.pop("position")].credits.append(CreditApplied(**r))
    return docs
