"""Line arithmetic every accounting export shares: exact quantity x price pairs and tax per line.

Accounting systems recompute a line's amount from its quantity and unit price. We only export
our quantity and unit price when their product *is* the line amount exactly (no rounding
involved, so any system's rounding gives the same cents); otherwise the line goes as 1 x amount,
and the quantity stays readable in its description. Where a system takes a tax amount per line,
the document's tax is spread over its lines so that they add up to the ledger's tax exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ...core.money import round_money
from ..documents.model import Document, DocumentLine

ONE, ZERO = Decimal(1), Decimal(0)


@dataclass(frozen=True)
class ExportLine:
    """One exported line: our line (None for the placeholder of a document without lines) and its figures."""

    line: DocumentLine | None
    description: str
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal
    tax_amount: Decimal


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def quantity_and_price(line: DocumentLine, max_quantity_places: int, max_price_places: int,
                       digits: int) -> tuple[Decimal, Decimal]:
    """(quantity, unit price) multiplying to the amount exactly within the system's decimals, else (1, amount)."""
    q, p = line.quantity, line.unit_price
    if p is not None and q != 0 and _places(q) <= max_quantity_places and _places(p) <= max_price_places \
            and q * p == line.amount:
        return plain(q), plain(p)
    return ONE, money(line.amount, digits)


def plain(value: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form (120 stays 120, not 1.2E+2)."""
    n = value.normalize()
    return n.quantize(ONE) if n == n.to_integral_value() else n


def money(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits))


def signed(value: Decimal, sign: int) -> str:
    """`value` times `sign` as text, never "-0.00"."""
    v = value * sign
    return f"{v if v else abs(v):f}"


def spread_tax(tax_total: Decimal, amounts: list[Decimal], digits: int) -> list[Decimal]:
    """Tax per line, proportional to the line amounts, adding up to tax_total exactly (the rest on the largest line)."""
    if not amounts:
        return []
    net = sum(amounts, ZERO)
    shares = [round_money(a * tax_total / net, digits) if net else ZERO for a in amounts]
    rest = tax_total - sum(shares, ZERO)
    if rest:
        largest = max(range(len(amounts)), key=lambda i: (abs(amounts[i]), -i))
        shares[largest] += rest
    return shares


def export_lines(doc: Document, max_quantity_places: int, max_price_places: int, *,
                 empty_description: str = "No charges in this period") -> list[ExportLine]:
    """The document's lines as exported (amounts as in the ledger; a document without lines gets one zero line)."""
    lines = doc.lines
    if not lines:
        zero = money(ZERO, doc.digits)
        return [ExportLine(None, empty_description, ONE, zero, zero, money(doc.tax_total, doc.digits))]
    taxes = spread_tax(doc.tax_total, [x.amount for x in lines], doc.digits)
    out = []
    for x, tax in zip(lines, taxes):
        q, p = quantity_and_price(x, max_quantity_places, max_price_places, doc.digits)
        out.append(ExportLine(x, x.description or x.line_type, q, p, money(x.amount, doc.digits),
                              money(tax, doc.digits)))
    return out


def reference_text(doc: Document) -> str:
    """What a document is, in words, for a Reference or Memo column."""
    if doc.is_credit_note:
        return f"Credit note for {doc.reference} ({doc.reason})"
    if doc.kind == "adjustment":
        return f"Adjustment of {doc.reference}"
    period = f"{doc.period_start.isoformat()} to {doc.last_day.isoformat()}"
    text = f"Contract {doc.contract_id}, {period}"
    return text + (f", replaces {doc.reference}" if doc.reference else "")
