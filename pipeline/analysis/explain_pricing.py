"""explain_pricing: how one invoice line's exact amount follows from its quantity and its charge.

The same formulas as pipeline/rate/*.py and pipeline/billing/invoice.py, written out term by term (tier by
tier, package by package, minimum and commitment top-ups, discount); tests check that the terms add
up to the amount the rating computed for every line of the scenarios, so the two cannot drift.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from ..billing.invoice import HUNDRED, Invoice, Line
from ..config.pricebook import Charge
from ..core.money import EXACT, round_money, to_decimal


def _flat(charge: Charge, factor: Fraction) -> dict:
    p = charge.params
    prorated = p.prorate and factor != 1
    exact = to_decimal(factor * Fraction(p.amount)) if prorated else p.amount
    return {"amount": p.amount, "prorate": p.prorate, "proration_factor": _fraction(factor),
            "formula": f"{p.amount} x {_fraction(factor)}" if prorated else f"{p.amount} (not prorated)"
            if factor != 1 else f"{p.amount} (full period)", "exact": exact}


def _per_unit(charge: Charge, q: Decimal) -> dict:
    p = charge.params
    billable = max(q - p.free_units, Decimal(0))
    return {"quantity": q, "free_units": p.free_units, "billable_units": billable, "unit_price": p.unit_price,
            "formula": f"max({q} - {p.free_units}, 0) x {p.unit_price}", "exact": billable * p.unit_price}


def _graduated(charge: Charge, q: Decimal) -> dict:
    tiers = []
    for k, t in enumerate(charge.params.tiers):
        if not (k == 0 or q > t.lower):
            break
        top = q if t.up_to is None else min(q, t.up_to)
        units = max(top - t.lower, Decimal(0))
        tiers.append({"tier": k + 1, "from": t.lower, "up_to": t.up_to, "units": units, "unit_price": t.unit_price,
                      "units_amount": units * t.unit_price, "flat_fee": t.flat_fee,
                      "amount": units * t.unit_price + t.flat_fee})
    return {"quantity": q, "tiers": tiers, "formula": "sum over the tiers reached of units x unit_price + flat_fee",
            "exact": sum((t["amount"] for t in tiers), Decimal(0))}


def _volume(charge: Charge, q: Decimal) -> dict:
    tiers = charge.params.tiers
    k, t = next(((k, t) for k, t in enumerate(tiers) if t.contains(q, first=k == 0)), (0, tiers[0]))
    return {"quantity": q, "tier": k + 1, "from": t.lower, "up_to": t.up_to, "unit_price": t.unit_price,
            "flat_fee": t.flat_fee, "formula": f"{q} x {t.unit_price} + {t.flat_fee} (all units at tier {k + 1})",
            "exact": q * t.unit_price + t.flat_fee}


def _package(charge: Charge, q: Decimal) -> dict:
    p = charge.params
    billable = max(q - p.free_units, Decimal(0))
    packages = EXACT.divide(billable, p.package_size).to_integral_value(rounding=ROUND_CEILING)
    return {"quantity": q, "free_units": p.free_units, "billable_units": billable, "package_size": p.package_size,
            "packages": packages, "package_price": p.package_price,
            "formula": f"ceil({billable} / {p.package_size}) = {packages} packages x {p.package_price}",
            "exact": packages * p.package_price}


def _percentage(charge: Charge, line: Line) -> dict:
    p = charge.params
    return {"percent": p.percent, "fixed_fee": p.fixed_fee, "per_event_min": p.per_event_min,
            "per_event_max": p.per_event_max, "free_events": p.free_events, "free_amount": p.free_amount,
            "formula": f"sum over the {line.events} events of {p.percent}% x chargeable amount + {p.fixed_fee}, "
                       f"raised to per_event_min, capped at per_event_max (each if set)",
            "exact": line.exact_amount}


def _fraction(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def pricing(inv: Invoice, line: Line, charges: dict[str, Charge], minimum_commitment: Decimal | None,
            discount_percent: Decimal) -> dict:
    """The terms of one line's exact amount (a dict with `exact`, and the model's own figures)."""
    factor = inv.billed.period.factor
    if line.line_type == "discount":
        exact = inv.subtotal * discount_percent / HUNDRED
        return {"model": "discount", "discount_percent": discount_percent, "subtotal": inv.subtotal,
                "formula": f"-round({inv.subtotal} x {discount_percent}% )", "exact_discount": exact,
                "discount_total": round_money(exact, inv.digits), "exact": -round_money(exact, inv.digits)}
    if line.line_type == "commitment":
        before = sum((x.amount for x in inv.lines if x.line_type not in ("one_time", "commitment", "discount")), Decimal(0))
        floor = round_money(Fraction(minimum_commitment) * factor, inv.digits)
        return {"model": "commitment", "minimum_commitment": minimum_commitment, "proration_factor": _fraction(factor),
                "floor": floor, "charges_subtotal": before,
                "formula": f"round({minimum_commitment} x {_fraction(factor)}) - {before}", "exact": floor - before}
    if line.line_type == "one_time":
        return {"model": "one_time", "quantity": line.quantity, "unit_price": line.unit_price,
                "formula": f"{line.quantity} x {line.unit_price}", "exact": line.exact_amount}
    charge = charges[line.charge_id]
    if line.line_type == "minimum":
        used = sum((x.amount for x in inv.lines if x.charge_id == charge.id and x.line_type == "usage"), Decimal(0))
        floor = round_money(Fraction(charge.min_amount) * factor, inv.digits)
        return {"model": "minimum", "min_amount": charge.min_amount, "proration_factor": _fraction(factor),
                "floor": floor, "charge_lines_total": used,
                "formula": f"round({charge.min_amount} x {_fraction(factor)}) - {used}", "exact": floor - used}
    q = line.quantity
    body = {"flat": lambda: _flat(charge, factor), "per_unit": lambda: _per_unit(charge, q),
            "graduated": lambda: _graduated(charge, q), "volume": lambda: _volume(charge, q),
            "package": lambda: _package(charge, q), "percentage": lambda: _percentage(charge, line)}[charge.model]()
    return {"model": charge.model, **body}
