"""invoice: priced charges -> invoices with their lines (contract section 3).

Per billed period: one line per charge (per group with group_by), a `minimum`
line per usage charge below its min_amount, a `commitment` line below the
minimum commitment, a `discount` line, then tax and totals. Each line amount is
computed exactly and rounded once, half away from zero, to the currency's minor unit. The pricing
rules themselves are in pipeline/rate/ (charge models, floors.py, discount.py, one_time.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from .. import rate
from ..config.one_time import OneTimeCharge
from ..config.pricebook import Charge, Metric
from ..config.workspace import Workspace
from ..core.money import round_money, round_quantity, show_quantity
from ..rate import floors
from ..rate import one_time as one_time_rule
from ..rate.discount import discount
from .meter import GroupValues, Metered
from .scope import BilledPeriod, Scope

HUNDRED = Decimal(100)  # tax percent
UNNUMBERED = 0  # pragma: no mutate - a placeholder: build_invoice numbers every line 1.. before returning


@dataclass
class Line:
    line_number: int
    line_type: str  # flat, usage, minimum, commitment, discount, one_time
    charge_id: str | None
    metric_id: str | None
    group_key: str
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    amount: Decimal
    exact_amount: Decimal
    events: int = 0  # pragma: no mutate - set by usage lines; the others reach only flat pricing, which ignores it
    service_day: dt.date | None = None  # one_time lines: service_start = service_end = this date


@dataclass
class Invoice:
    invoice_id: str
    billed: BilledPeriod
    currency: str
    digits: int
    lines: list[Line] = field(default_factory=list)
    subtotal: Decimal = Decimal(0)  # pragma: no mutate - build_invoice always sets it
    discount_total: Decimal = Decimal(0)
    tax_percent: Decimal = Decimal(0)  # pragma: no mutate - build_invoice always sets it
    tax_note: str = ""
    tax_name: str = ""
    tax_total: Decimal = Decimal(0)  # pragma: no mutate - build_invoice always sets it
    total: Decimal = Decimal(0)  # pragma: no mutate - build_invoice always sets it
    invoice_number: str | None = None
    status: str = "draft"

    @property
    def issue_date(self) -> dt.date:
        return self.billed.period.end

    def due_date(self, payment_terms_days: int) -> dt.date:
        return self.issue_date + dt.timedelta(days=payment_terms_days)


def invoice_id(contract_id: str, period_start: dt.date) -> str:
    """Deterministic: the same contract and period give the same id in every run."""
    digest = hashlib.sha256(f"{contract_id}\x1f{period_start.isoformat()}".encode()).hexdigest()
    return f"in_{digest[:24]}"


def group_key(metric: Metric, values: GroupValues) -> str:
    return ",".join(f"{col}={value}" for col, value in zip(metric.group_by, values))


def _usage_lines(charge: Charge, metric: Metric, metered: Metered, factor: Fraction, digits: int) -> list[Line]:
    used = metered.usage.get(metric.id, {})
    # with group_by one line per group that appears, ordered by group_key; else exactly one line (0 when unused)
    keyed = sorted((group_key(metric, g), g) for g in used) if metric.group_by else [("", ())]
    amounts = metered.event_amount.get(charge.id, {})
    lines = []
    for gk, g in keyed:
        q, events = used.get(g, (Decimal(0), 0))
        priced = rate.price(charge.model, charge.params, rate.Usage(q, factor, amounts.get(g), events))
        desc = f"{charge.label}: {show_quantity(q)} {metric.unit or metric.id}" + (f" ({gk})" if gk else "")
        lines.append(Line(UNNUMBERED, "usage", charge.id, metric.id, gk, desc, q, priced.unit_price,
                          round_money(priced.amount, digits), priced.amount, events))
    if charge.min_amount is not None:
        top = floors.minimum(charge.min_amount, sum((line.amount for line in lines), Decimal(0)), factor, digits)
        if top is not None:
            lines.append(Line(UNNUMBERED, "minimum", charge.id, None, "", f"{charge.label}: minimum", Decimal(1), None,
                              top.amount, top.amount))
    return lines


def _charge_lines(charges: tuple[Charge, ...], metrics: dict[str, Metric], metered: Metered, factor: Fraction,
                  digits: int) -> list[Line]:
    lines: list[Line] = []
    for charge in charges:
        if charge.metric_id is None:
            # only flat charges have no metric, and flat prices by the factor alone (the quantity is unread)
            priced = rate.price(charge.model, charge.params, rate.Usage(Decimal(0), factor))  # pragma: no mutate
            desc = charge.label if factor == 1 else f"{charge.label} (prorated {factor.numerator}/{factor.denominator})"
            lines.append(Line(UNNUMBERED, charge.model, charge.id, None, "", desc, round_quantity(factor),
                              priced.unit_price, round_money(priced.amount, digits), priced.amount))
        else:
            lines += _usage_lines(charge, metrics[charge.metric_id], metered, factor, digits)
    return lines


def _one_time_lines(charges: tuple[OneTimeCharge, ...], digits: int) -> list[Line]:
    """One `one_time` line per charge dated in the period, in (date, charge_id) order."""
    lines = []
    for o in charges:
        exact = one_time_rule.price(o.quantity, o.unit_price, o.date).amount
        lines.append(Line(UNNUMBERED, "one_time", o.charge_id, None, "", o.description, o.quantity, o.unit_price,
                          round_money(exact, digits), exact, service_day=o.date))
    return lines


def one_time_in(ws: Workspace, billed: BilledPeriod) -> tuple[OneTimeCharge, ...]:
    """The contract's one-time charges dated inside this period (local dates)."""
    p = billed.period
    return tuple(o for o in ws.one_time.get(billed.contract.contract_id, ()) if p.start <= o.date < p.end)


@dataclass(frozen=True)
class Totals:
    """An invoice's totals from what its lines charged (contract section 3)."""

    commitment: Decimal | None  # the `commitment` top-up, when the charges are below the minimum commitment
    subtotal: Decimal
    discount_total: Decimal
    discount_description: str | None  # the `discount` line's text, when there is a discount
    tax_total: Decimal
    total: Decimal


def totals(charged: Decimal, one_time: Decimal, discount_percent: Decimal, minimum_commitment: Decimal | None,
           factor: Fraction, tax_percent: Decimal, digits: int) -> Totals:
    """charged: the charge lines (what the commitment compares); one_time: the one-time lines (outside
    it, under discount and tax). Both builders of an invoice (build_invoice, assemble.py) call this."""
    subtotal, commitment = charged + one_time, None
    if minimum_commitment is not None:
        top = floors.commitment(minimum_commitment, charged, factor, digits)
        if top is not None:
            commitment = top.amount
            subtotal += top.amount
    discount_total, description = Decimal(0), None
    if discount_percent:
        discount_total = discount(subtotal, discount_percent, digits).amount
        description = f"Discount {discount_percent.normalize():f}%"
    tax_total = round_money((subtotal - discount_total) * tax_percent / HUNDRED, digits)
    return Totals(commitment, subtotal, discount_total, description, tax_total, subtotal - discount_total + tax_total)


def build_invoice(scope: Scope, billed: BilledPeriod, metered: Metered) -> Invoice:
    ws = scope.workspace
    contract, factor, terms = billed.contract, billed.period.factor, billed.terms
    plan = ws.plan_of(contract)
    inv = Invoice(invoice_id(contract.contract_id, billed.period.start), billed, plan.currency, plan.digits)
    lines = _charge_lines(terms.charges, ws.pricebook.metrics, metered, factor, plan.digits)
    charged = sum((line.amount for line in lines), Decimal(0))  # what the commitment compares
    one_time = _one_time_lines(one_time_in(ws, billed), plan.digits)
    lines += one_time
    rule = ws.tax_of(ws.customers[contract.customer_id])
    t = totals(charged, sum((line.amount for line in one_time), Decimal(0)), terms.discount_percent,
               terms.minimum_commitment, factor, rule.percent, plan.digits)
    if t.commitment is not None:
        lines.append(Line(UNNUMBERED, "commitment", None, None, "", "Minimum commitment", Decimal(1), None,
                          t.commitment, t.commitment))
    if t.discount_description is not None:
        lines.append(Line(UNNUMBERED, "discount", None, None, "", t.discount_description, Decimal(1), None,
                          0 - t.discount_total, 0 - t.discount_total))
    inv.subtotal, inv.discount_total, inv.tax_total, inv.total = t.subtotal, t.discount_total, t.tax_total, t.total
    inv.tax_percent, inv.tax_note, inv.tax_name = rule.percent, rule.note, rule.name
    for n, line in enumerate(lines, start=1):
        line.line_number = n
    inv.lines = lines
    return inv
