"""explain_pricing: how one invoice line's exact amount follows from its quantity and its charge.

The line is priced again by the rule that priced it (pipeline/rate/: the charge model, floors.py,
discount.py, one_time.py), asked with detail=True: the same function returns the steps and the
terms (tier by tier, package by package, floors, discount) beside the amount, so explain cannot
drift from the rating. The amount found must be the line's exact amount; explain says so if not.
"""
from __future__ import annotations

from decimal import Decimal

from ..billing.invoice import Invoice, Line
from ..config.pricebook import Charge
from ..rate import Priced, Usage, floors, one_time, price
from ..rate.discount import discount


def priced(inv: Invoice, line: Line, charges: dict[str, Charge], minimum_commitment: Decimal | None,
           discount_percent: Decimal) -> tuple[str, Priced]:
    """(model, the line priced again with detail) by the rule that priced it, from the same inputs."""
    factor, digits = inv.billed.period.factor, inv.digits
    if line.line_type == "discount":
        return "discount", discount(inv.subtotal, discount_percent, digits, detail=True)
    if line.line_type == "commitment":
        charged = sum((x.amount for x in inv.lines if x.line_type not in ("one_time", "commitment", "discount")),
                      Decimal(0))
        return "commitment", floors.commitment(minimum_commitment, charged, factor, digits, detail=True)
    if line.line_type == "one_time":
        return "one_time", one_time.price(line.quantity, line.unit_price, line.service_day, detail=True)
    charge = charges[line.charge_id]
    if line.line_type == "minimum":
        used = sum((x.amount for x in inv.lines if x.charge_id == charge.id and x.line_type == "usage"), Decimal(0))
        return "minimum", floors.minimum(charge.min_amount, used, factor, digits, detail=True)
    event_amount = line.exact_amount if charge.model == "percentage" else None  # rated per event in SQL
    return charge.model, price(charge.model, charge.params, Usage(line.quantity, factor, event_amount, line.events),
                               detail=True)


def pricing(inv: Invoice, line: Line, charges: dict[str, Charge], minimum_commitment: Decimal | None,
            discount_percent: Decimal) -> tuple[dict, list[str]]:
    """The terms of one line's exact amount (a dict with `model`, the model's own figures and `exact`)
    and its steps."""
    model, p = priced(inv, line, charges, minimum_commitment, discount_percent)
    return {"model": model, **p.terms}, list(p.steps)
