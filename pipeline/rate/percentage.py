"""percentage: per-event rating of a `sum` metric whose field is a transaction amount.

Events are taken in (timestamp, event_id) order. An event is free while it is
among the first `free_events` and the running total stays within `free_amount`
(each limit only if set); the event that crosses `free_amount` is charged on the
part above it. A charged event costs percent/100 * chargeable + fixed_fee, raised
to per_event_min and capped at per_event_max. The per-event work runs over the
whole event set at once in `sql/rate_percentage.sql`; this module holds the
parameters and prices the summed result.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from ..core.fields import Fields
from .base import Priced, Usage

NAME = "percentage"
USES_METRIC = True
KEYS = {"percent", "fixed_fee", "per_event_min", "per_event_max", "free_events", "free_amount"}
QUERY = "price_percentage"  # the same rule over many rows (pipeline/rate/columns.py)


@dataclass(frozen=True)
class Percentage:
    percent: Decimal
    fixed_fee: Decimal = Decimal(0)  # pragma: no mutate - a default parse() always overrides
    per_event_min: Decimal | None = None
    per_event_max: Decimal | None = None
    free_events: int | None = None
    free_amount: Decimal | None = None


def parse(spec: Fields) -> Percentage:
    free_events = spec.decimal("free_events", required=False)
    if free_events is not None and free_events != free_events.to_integral_value():
        spec.problems.add(spec.where, f"free_events must be a whole number, got {free_events}")
        free_events = None
    charge = Percentage(
        percent=spec.decimal("percent", maximum=Decimal(100)) or Decimal(0),  # pragma: no mutate - refused if missing
        fixed_fee=spec.decimal("fixed_fee", required=False, default=Decimal(0)),
        per_event_min=spec.decimal("per_event_min", required=False),
        per_event_max=spec.decimal("per_event_max", required=False),
        free_events=int(free_events) if free_events is not None else None,
        free_amount=spec.decimal("free_amount", required=False),
    )
    if charge.per_event_min is not None and charge.per_event_max is not None \
            and charge.per_event_min > charge.per_event_max:
        spec.problems.add(spec.where, f"per_event_min {charge.per_event_min} is above per_event_max "
                                      f"{charge.per_event_max}", "make the minimum at most the maximum")
    return charge


def price(charge: Percentage, usage: Usage, detail: bool = False) -> Priced:
    amount = usage.event_amount if usage.event_amount is not None else Decimal(0)
    if not detail:
        return Priced(amount)
    steps = (f"sum over events of {charge.percent}% of the chargeable amount + {charge.fixed_fee}, "
             f"within [{charge.per_event_min}, {charge.per_event_max}]",)
    return Priced(amount, None, steps,
                  {"percent": charge.percent, "fixed_fee": charge.fixed_fee, "per_event_min": charge.per_event_min,
                   "per_event_max": charge.per_event_max, "free_events": charge.free_events,
                   "free_amount": charge.free_amount,
                   "formula": f"sum over the {usage.events} events of {charge.percent}% x chargeable amount + "
                              f"{charge.fixed_fee}, raised to per_event_min, capped at per_event_max (each if set)",
                   "exact": amount})


def params_table(charges: list[tuple[int, Percentage]]) -> pa.Table:
    """sql/price_percentage.sql reads no parameter (the per-event work is done): the charges' keys."""
    return pa.table({"charge_key": pa.array([k for k, _ in charges], pa.int32())})
