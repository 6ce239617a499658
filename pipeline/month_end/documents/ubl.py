"""UBL 2.1 Invoice and CreditNote documents following EN 16931 (CustomizationID urn:cen.eu:en16931:2017).

One XML per document, from the ledger's figures only (nothing recomputed):

- invoices are InvoiceTypeCode 380, adjustment invoices 384 (corrected invoice), credit notes
  CreditNote 381; a credit note or adjustment references its invoice (BillingReference, BG-3);
- our discount line becomes the document-level allowance (BG-20, reason code 95), so that
  LineExtensionAmount is the subtotal and TaxExclusiveAmount subtotal - discount (BR-CO-10, -13);
  a negative discount (an adjustment that lowers a discount) is a document-level charge;
- one VAT breakdown (BG-23) per document: S (standard) when tax is charged, AE reverse charge,
  E exempt, Z zero rated (0 % without a note, seller VAT-registered) or O (0 %, no seller VAT id);
- a line goes as quantity x price when their product is its amount exactly, else as 1 (or -1)
  x its amount (EN 16931: the price is never negative); the quantity stays in the item name;
- prepaid credit the invoice drew at issue is the paid amount (PrepaidAmount, BT-113), and the
  amount due for payment (PayableAmount, BT-115) is the total less it;
- amounts carry the currency's digits: EN 16931 allows at most 2 (BR-DEC-*), so a KWD document
  fails validation, by rule and number.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from .model import Document, DocumentLine, Party

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION = "urn:cen.eu:en16931:2017"
REASONS = {"AE": ("VATEX-EU-AE", "Reverse charge: VAT to be accounted for by the customer "
                                 "(Article 196, Council Directive 2006/112/EC)"),
           "E": ("VATEX-EU-O", "Exempt from VAT"),  # the customer's exemption
           "O": ("VATEX-EU-O", "Not subject to VAT")}


def _c(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    ns = CBC if name[0] != "_" else CAC
    el = etree.SubElement(parent, f"{{{ns}}}{name.lstrip('_')}", attrs)
    if text is not None:
        el.text = text
    return el


def _plain(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def tax_category(doc: Document) -> str:
    if doc.tax_note == "reverse_charge":
        return "AE"
    if doc.tax_note == "exempt":
        return "E"
    if doc.tax_percent > 0:
        return "S"
    return "Z" if doc.seller.tax_id else "O"


def _vat_id(party: Party) -> str | None:
    """A tax id written as a VAT number (two-letter prefix), else None (it goes as a legal registration id)."""
    tid = (party.tax_id or "").replace(" ", "")
    return tid if len(tid) > 2 and tid[:2].isalpha() and tid[:2].isupper() else None


def _party(parent: etree._Element, role: str, party: Party) -> None:
    p = _c(_c(parent, role), "_Party")
    if party.name:
        _c(_c(p, "_PartyName"), "Name", party.name)
    address = _c(p, "_PostalAddress")
    for name, value in (("StreetName", party.address_line1), ("AdditionalStreetName", party.address_line2),
                        ("CityName", party.city), ("PostalZone", party.postal_code)):
        if value:
            _c(address, name, value)
    _c(_c(address, "_Country"), "IdentificationCode", party.country)
    vat = _vat_id(party)
    if vat:
        scheme = _c(p, "_PartyTaxScheme")
        _c(scheme, "CompanyID", vat)
        _c(_c(scheme, "_TaxScheme"), "ID", "VAT")
    legal = _c(p, "_PartyLegalEntity")
    _c(legal, "RegistrationName", party.name)
    if party.tax_id and not vat:
        _c(legal, "CompanyID", party.tax_id)
    if party.email:
        _c(_c(p, "_Contact"), "ElectronicMail", party.email)


def _category(parent: etree._Element, element: str, doc: Document, *, reason: bool) -> None:
    code = tax_category(doc)
    cat = _c(parent, element)
    _c(cat, "ID", code)
    if code != "O":
        _c(cat, "Percent", _plain(doc.tax_percent))
    if reason and code in REASONS:
        _c(cat, "TaxExemptionReasonCode", REASONS[code][0])
        _c(cat, "TaxExemptionReason", REASONS[code][1])
    _c(_c(cat, "_TaxScheme"), "ID", "VAT")


def _quantity_price(line: DocumentLine) -> tuple[Decimal, Decimal]:
    q, p = line.quantity, line.unit_price
    if p is not None and q != 0 and q * p == line.amount:
        return q, p
    return (Decimal(-1) if line.amount < 0 else Decimal(1)), abs(line.amount)


def _line(parent: etree._Element, doc: Document, line: DocumentLine, position: int, credit: bool) -> None:
    cur = doc.currency
    el = _c(parent, "_CreditNoteLine" if credit else "_InvoiceLine")
    _c(el, "ID", str(position))
    q, price = _quantity_price(line)
    _c(el, "CreditedQuantity" if credit else "InvoicedQuantity", _plain(q), unitCode="C62")
    _c(el, "LineExtensionAmount", doc.money(line.amount), currencyID=cur)
    period = _c(el, "_InvoicePeriod")
    _c(period, "StartDate", line.service_start.isoformat())
    _c(period, "EndDate", (line.service_end - dt.timedelta(days=1)).isoformat())
    item = _c(el, "_Item")
    _c(item, "Name", line.description or line.line_type)
    if line.charge_id:
        _c(_c(item, "_SellersItemIdentification"), "ID", line.charge_id)
    _category(item, "_ClassifiedTaxCategory", doc, reason=False)
    _c(_c(el, "_Price"), "PriceAmount", _plain(price), currencyID=cur)


def build(doc: Document) -> bytes:
    """The document's UBL 2.1 XML (UTF-8, with declaration), the same bytes for the same ledger rows."""
    credit = doc.is_credit_note
    root = etree.Element(f"{{{NS_CREDIT_NOTE if credit else NS_INVOICE}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: NS_CREDIT_NOTE if credit else NS_INVOICE, "cac": CAC, "cbc": CBC})
    cur = doc.currency
    _c(root, "CustomizationID", CUSTOMIZATION)
    _c(root, "ID", doc.number)
    _c(root, "IssueDate", doc.issue_date.isoformat())
    if not credit and doc.due_date:
        _c(root, "DueDate", doc.due_date.isoformat())
    _c(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode",
       "381" if credit else "384" if doc.kind == "adjustment" else "380")
    if tax_category(doc) in REASONS:
        _c(root, "Note", REASONS[tax_category(doc)][1])
    _c(root, "DocumentCurrencyCode", cur)
    _c(root, "BuyerReference", doc.contract_id)
    period = _c(root, "_InvoicePeriod")
    _c(period, "StartDate", doc.period_start.isoformat())
    _c(period, "EndDate", doc.last_day.isoformat())
    if doc.reference:
        _c(_c(_c(root, "_BillingReference"), "_InvoiceDocumentReference"), "ID", doc.reference)
    _party(root, "_AccountingSupplierParty", doc.seller)
    _party(root, "_AccountingCustomerParty", doc.buyer)
    iban = dict(doc.seller.extra).get("iban")
    if iban and not credit:
        means = _c(root, "_PaymentMeans")
        _c(means, "PaymentMeansCode", "58")
        _c(means, "PaymentID", doc.number)
        _c(_c(means, "_PayeeFinancialAccount"), "ID", iban.replace(" ", ""))
    terms = (f"Credit for invoice {doc.reference} ({doc.reason})" if credit else
             f"Payment due within {doc.payment_terms_days} days, by {doc.due_date.isoformat()}" if doc.due_date
             else "Payment due on receipt")
    _c(_c(root, "_PaymentTerms"), "Note", terms)
    discount = doc.discount_total
    if discount:
        ac = _c(root, "_AllowanceCharge")
        _c(ac, "ChargeIndicator", "false" if discount > 0 else "true")
        if discount > 0:
            _c(ac, "AllowanceChargeReasonCode", "95")
        _c(ac, "AllowanceChargeReason", "Discount" if discount > 0 else "Discount correction")
        _c(ac, "Amount", doc.money(abs(discount)), currencyID=cur)
        _category(ac, "_TaxCategory", doc, reason=False)
    tax = _c(root, "_TaxTotal")
    _c(tax, "TaxAmount", doc.money(doc.tax_total), currencyID=cur)
    sub = _c(tax, "_TaxSubtotal")
    _c(sub, "TaxableAmount", doc.money(doc.subtotal - doc.discount_total), currencyID=cur)
    _c(sub, "TaxAmount", doc.money(doc.tax_total), currencyID=cur)
    _category(sub, "_TaxCategory", doc, reason=True)
    totals = _c(root, "_LegalMonetaryTotal")
    _c(totals, "LineExtensionAmount", doc.money(doc.subtotal), currencyID=cur)
    _c(totals, "TaxExclusiveAmount", doc.money(doc.subtotal - doc.discount_total), currencyID=cur)
    _c(totals, "TaxInclusiveAmount", doc.money(doc.total), currencyID=cur)
    if discount > 0:
        _c(totals, "AllowanceTotalAmount", doc.money(discount), currencyID=cur)
    elif discount < 0:
        _c(totals, "ChargeTotalAmount", doc.money(-discount), currencyID=cur)
    if doc.credits:  # prepaid credit drawn at issue: BT-113, and BT-115 = BT-112 - BT-113 (BR-CO-16)
        _c(totals, "PrepaidAmount", doc.money(doc.prepaid), currencyID=cur)
    _c(totals, "PayableAmount", doc.money(doc.amount_due), currencyID=cur)
    charged = [x for x in doc.lines if x.line_type != "discount"]
    for position, line in enumerate(charged, start=1):
        _line(root, doc, line, position, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
