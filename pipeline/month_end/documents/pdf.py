"""One PDF per document (fpdf2): what a customer reads.

Seller and buyer blocks (name, address, tax ids), number, issue and due dates, service period,
the lines (a graduated charge's tiers and a stub's proration under its line), subtotal,
discount, tax with its note (reverse-charge wording), total, the prepaid credit it drew at issue
and the amount due (only when it drew some), payment terms. The creation date in
the metadata is the document's issue date, so the same ledger gives the same bytes. Text in
the core font's Latin-1 uses Helvetica (fast, nothing embedded); other scripts need a Unicode
TrueType font (DejaVu Sans where installed, or USAGEBILL_PDF_FONT).
"""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from fpdf import FPDF

from ...config.workspace import Workspace
from ...core.errors import BillingError
from ...core.money import round_money, show_quantity
from ...rate import graduated
from ...rate.base import Usage
from ...rate.graduated import Graduated
from .model import Document, DocumentLine, Party

TITLES = {"invoice": "Invoice", "adjustment": "Adjustment invoice", "credit_note": "Credit note"}
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf")
TAX_NOTES = {"reverse_charge": "Reverse charge: VAT to be accounted for by the customer "
                               "(Article 196, Council Directive 2006/112/EC).",
             "exempt": "Exempt from tax: the customer is tax exempt."}
GREY = (110, 110, 110)


def _unicode_font() -> str:
    for path in (os.environ.get("USAGEBILL_PDF_FONT"), *FONT_PATHS):
        if path and Path(path).is_file():
            return path
    raise BillingError("a document holds characters outside Latin-1 and no Unicode font was found; install "
                       "fonts-dejavu-core or set USAGEBILL_PDF_FONT to a .ttf file")


def _latin1(doc: Document) -> bool:
    texts = [doc.seller.name, doc.buyer.name, *doc.seller.address_lines, *doc.buyer.address_lines,
             doc.buyer.email or "", doc.seller.email or "", doc.tax_name, doc.number, doc.reference or "",
             *(x.description for x in doc.lines), *(f"{c.grant_id or ''}{c.description}" for c in doc.credits)]
    try:
        "".join(texts).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def tier_breakdown(ws: Workspace | None, doc: Document, line: DocumentLine) -> list[str]:
    """The graduated charge's tiers as priced, when today's pricebook still gives the line's amount."""
    contract = None if ws is None else ws.contracts.get(doc.contract_id)
    if contract is None or line.line_type != "usage" or contract.plan_id not in ws.pricebook.plans:
        return []
    charges = ws.terms_at(contract, doc.period_start).charges  # the terms the period was priced with
    charge = next((c for c in charges if c.id == line.charge_id), None)
    if charge is None or not isinstance(charge.params, Graduated):
        return []
    priced = graduated.price(charge.params, Usage(line.quantity, Fraction(1)), detail=True)  # the rule's own terms
    out = []
    for t in priced.terms["tiers"]:
        bound = f"{_num(t['from'])} to {_num(t['up_to'])}" if t["up_to"] is not None else f"above {_num(t['from'])}"
        fee = f" + flat fee {doc.money(t['flat_fee'])}" if t["flat_fee"] else ""
        out.append(f"Tier {t['tier']} ({bound}): {_num(t['units'])} x {_num(t['unit_price'])}{fee} = "
                   f"{doc.money(round_money(t['amount'], doc.digits))}")
    total = priced.amount
    return out if round_money(total, doc.digits) == line.amount else []


def _price(doc: Document, value: Decimal) -> str:
    """A unit price: the currency's digits at least (49.00), more where the price has them (0.0005)."""
    return doc.money(value) if value == round_money(value, doc.digits) else _num(value)


def _num(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def proration(doc: Document, line: DocumentLine) -> list[str]:
    if line.line_type == "flat" and line.unit_price is not None and line.quantity != 1:
        return [f"Prorated: {doc.money(line.unit_price)} x {_num(line.quantity)} of the period "
                f"({line.service_start.isoformat()} to {(line.service_end - dt.timedelta(days=1)).isoformat()})"]
    return []


def _wrap(pdf: FPDF, w: float, h: float, text: str, **kw) -> None:  # fpdf's keywords
    """multi_cell where the text needs wrapping; a plain cell (much faster) where it fits."""
    if pdf.get_string_width(text) < w - 2 * pdf.c_margin:
        pdf.cell(w, h, text, **kw)
    else:
        pdf.multi_cell(w, h, text, **kw)


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body_font, size=7)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.doc_number}  -  page {self.page_no()} of {{nb}}", align="C")


def render_pdf(doc: Document, ws: Workspace | None = None) -> bytes:
    pdf = _Pdf(format="A4", unit="mm")
    pdf.doc_number = doc.number
    if _latin1(doc):
        pdf.body_font = "Helvetica"
    else:
        pdf.add_font("DejaVu", "", _unicode_font())
        pdf.add_font("DejaVu", "B", _unicode_font())
        pdf.body_font = "DejaVu"
    f = pdf.body_font
    pdf.set_creation_date(dt.datetime.combine(doc.issue_date, dt.time(), dt.UTC))
    pdf.set_title(f"{TITLES[doc.kind]} {doc.number}")
    pdf.set_author(doc.seller.name)
    pdf.set_creator("usagebill")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    # Seller (left) and the document's identity (right).
    top = pdf.get_y()
    pdf.set_font(f, "B", 13)
    _wrap(pdf, 100, 6, doc.seller.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f, size=8.5)
    for text in _party_lines(doc.seller):
        pdf.cell(100, 4.2, text, new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width - 70, top)
    pdf.set_font(f, "B", 15)
    pdf.cell(70, 7, TITLES[doc.kind].upper(), align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_font(f, size=9)
    facts = [("Number", doc.number), ("Issue date", doc.issue_date.isoformat())]
    if doc.due_date:
        facts.append(("Due date", doc.due_date.isoformat()))
    facts.append(("Service period", f"{doc.period_start.isoformat()} to {doc.last_day.isoformat()}"))
    if doc.reference:
        what = {"credit_note": "Credits invoice", "adjustment": "Adjusts invoice"}.get(doc.kind, "Replaces invoice")
        facts.append((what, doc.reference))
    for label, value in facts:
        pdf.set_x(pdf.l_margin + width - 80)
        pdf.set_text_color(*GREY)
        pdf.cell(30, 4.8, label, align="L")
        pdf.set_text_color(0)
        pdf.set_font(f, "B" if label == "Number" else "", 9)
        pdf.cell(50, 4.8, value, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(f, size=9)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)

    # Buyer.
    pdf.set_text_color(*GREY)
    pdf.set_font(f, size=8)
    pdf.cell(0, 4, "BILL TO", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_font(f, "B", 10)
    _wrap(pdf, 110, 5, doc.buyer.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f, size=8.5)
    for text in _party_lines(doc.buyer):
        pdf.cell(110, 4.2, text, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(110, 4.2, f"Customer {doc.customer_id}, contract {doc.contract_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(7)

    # Lines.
    cols = (width - 84, 26, 30, 28)
    pdf.set_fill_color(238, 238, 238)
    pdf.set_font(f, "B", 8.5)
    for text, w, align in zip(("Description", "Quantity", f"Unit price ({doc.currency})",
                               f"Amount ({doc.currency})"), cols, "LRRR"):
        pdf.cell(w, 6, text, align=align, fill=True)
    pdf.ln(6)
    hide_zero = ws is not None and ws.settings.hide_zero_usage_lines
    for line in doc.lines:
        if hide_zero and line.line_type == "usage" and line.amount == 0:
            continue
        pdf.set_font(f, size=8.5)
        unit = "" if line.unit_price is None else _price(doc, line.unit_price)
        y = pdf.get_y()
        _wrap(pdf, cols[0], 4.6, line.description or line.line_type, new_x="RIGHT", new_y="TOP")
        bottom = max(pdf.get_y(), y + 4.6)
        pdf.set_xy(pdf.l_margin + cols[0], y)
        pdf.cell(cols[1], 4.6, show_quantity(line.quantity), align="R")
        pdf.cell(cols[2], 4.6, unit, align="R")
        pdf.cell(cols[3], 4.6, doc.money(line.amount), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(bottom, pdf.get_y()))
        details = tier_breakdown(ws, doc, line) + proration(doc, line)
        if details:
            pdf.set_font(f, size=7.5)
            pdf.set_text_color(*GREY)
            for text in details:
                pdf.set_x(pdf.l_margin + 5)
                pdf.cell(cols[0] - 5, 3.8, text, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0)
        pdf.set_draw_color(225, 225, 225)
        pdf.line(pdf.l_margin, pdf.get_y() + 0.6, pdf.l_margin + width, pdf.get_y() + 0.6)
        pdf.ln(1.4)
    if not doc.lines:
        pdf.set_font(f, size=8.5)
        pdf.cell(cols[0], 5, "No charges in this period", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    # Totals.
    tax_label = doc.tax_name or (f"Tax {_num(doc.tax_percent)}%" if doc.tax_percent else "Tax")
    if doc.tax_note == "reverse_charge":
        tax_label = "VAT 0% (reverse charge)"
    elif doc.tax_note == "exempt":
        tax_label = "Tax 0% (exempt)"
    rows = [("Subtotal", doc.subtotal), ("Discount", -doc.discount_total), ("Net", doc.subtotal - doc.discount_total),
            (tax_label, doc.tax_total)]
    label_w, amount_w = 60, 28
    x = pdf.l_margin + width - label_w - amount_w
    pdf.set_font(f, size=9)
    for label, value in rows:
        pdf.set_x(x)
        pdf.cell(label_w, 5.2, label, align="R")
        pdf.cell(amount_w, 5.2, doc.money(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(x)
    pdf.set_font(f, "B", 11)
    total_label = "Total credited" if doc.is_credit_note else "Total" if doc.credits else "Total due"
    pdf.cell(label_w, 7.5, f"{total_label} ({doc.currency})", align="R", border="T")
    pdf.cell(amount_w, 7.5, doc.money(doc.total), align="R", border="T", new_x="LMARGIN", new_y="NEXT")
    if doc.credits:
        _prepaid(pdf, doc, x, label_w, amount_w)
    pdf.ln(6)

    # Notes and payment terms.
    pdf.set_font(f, size=8.5)
    notes = []
    if doc.tax_note in TAX_NOTES:
        notes.append(TAX_NOTES[doc.tax_note])
    elif doc.tax_percent == 0:
        notes.append("No tax charged on this document.")
    if doc.is_credit_note:
        notes.append(f"This credit note credits invoice {doc.reference} ({doc.reason}); the amount is deducted "
                     "from what you owe or refunded.")
    elif doc.due_date and doc.credits and doc.amount_due <= 0:
        notes.append("Nothing to pay: prepaid credit covers this invoice in full.")
    elif doc.due_date:
        pay = f"Payment terms: {doc.payment_terms_days} days. Please pay {doc.money(doc.amount_due)} {doc.currency} " \
              f"by {doc.due_date.isoformat()}, quoting {doc.number}."
        iban = dict(doc.seller.extra).get("iban")
        if iban:
            pay += f" Bank account (IBAN): {iban}" + (f", BIC {dict(doc.seller.extra)['bic']}"
                                                      if "bic" in dict(doc.seller.extra) else "") + "."
        notes.append(pay)
    for text in notes:
        _wrap(pdf, width, 4.4, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())


def _prepaid(pdf: FPDF, doc: Document, x: float, label_w: float, amount_w: float) -> None:
    """Under the total: the prepaid credit the invoice drew at issue, where it came from, and the amount due."""
    f = pdf.body_font
    pdf.set_font(f, size=9)
    pdf.set_x(x)
    pdf.cell(label_w, 5.2, "Prepaid credit applied", align="R")
    pdf.cell(amount_w, 5.2, doc.money(-doc.prepaid), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f, size=7.5)
    pdf.set_text_color(*GREY)
    for c in doc.credits:
        source = f"grant {c.grant_id}" + (f" ({c.description})" if c.description else "") if c.source == "grant" \
            else "your account credit"
        pdf.set_x(x - 40)
        _wrap(pdf, label_w + 40, 4, f"from {source}: {doc.money(c.amount)}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_x(x)
    pdf.set_font(f, "B", 11)
    pdf.cell(label_w, 7.5, f"Amount due ({doc.currency})", align="R", border="T")
    pdf.cell(amount_w, 7.5, doc.money(doc.amount_due), align="R", border="T", new_x="LMARGIN", new_y="NEXT")


def _party_lines(p: Party) -> list[str]:
    lines = list(p.address_lines)
    if p.tax_id:
        lines.append(f"VAT ID {p.tax_id}" if p.tax_id[:2].isalpha() else f"Tax ID {p.tax_id}")
    if p.email:
        lines.append(p.email)
    lines += [f"{k.capitalize()} {v}" for k, v in p.extra if k in ("phone", "website")]
    return lines
