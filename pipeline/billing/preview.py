"""preview: the open period's invoice so far, as a draft (the upcoming invoice); nothing is written.

`usagebill preview WS --contract ID --as-of D` bills the contract's period that holds local
calendar day D, with the events before local midnight at the start of D (as of D = everything up to
the end of D - 1, as `nightly --as-of D` issues the periods with period_end <= D). It is the same
rating as `run` of that period once it closes: with no later events, the same lines and amounts.
Flat fees, minimums and the commitment are the full period's (not the share elapsed so far).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from ..config.workspace import load_workspace
from ..core.errors import BillingError
from .emit import MONEY_COLUMNS
from .invoice import Invoice
from .periods import instant, period_containing
from .run import bill
from .types import Bill, RunArgs


@dataclass
class Preview:
    as_of: dt.date
    usage_up_to: dt.datetime  # events before this instant count
    result: Bill
    invoice: Invoice


def preview(workspace: Path, contract_id: str, as_of: dt.date, *, threads: int | None = None,
            memory_limit: str | None = None, progress: Callable[[str], None] | None = None,
            events: str | None = None) -> Preview:
    ws = load_workspace(workspace)
    k = ws.contracts.get(contract_id)
    if k is None:
        raise BillingError(f"--contract {contract_id}: no such contract in contracts; see contracts.csv")
    p = period_containing(k, as_of)
    if p is None:
        when = f"starts on {k.start_date}" if as_of < k.start_date else f"ended on {k.end_date}"
        raise BillingError(f"--contract {contract_id}: no open period on {as_of} (the contract {when}); "
                           "pick a date inside the contract, or `usagebill run` a closed period")
    cutoff = instant(as_of, ws.customers[k.customer_id].timezone)
    args = RunArgs(p.last_day, p.end, (contract_id,), events=events)
    result = bill(workspace, args, threads=threads, memory_limit=memory_limit, progress=progress,
                  periods_of=lambda contract, _first, _stop: [p] if contract.contract_id == contract_id else [],
                  until=cutoff, objects=True)
    return Preview(as_of, cutoff, result, result.invoice_objects[0])


def as_dict(pv: Preview) -> dict:
    """The preview as plain data: the draft invoice header, its lines, and the events counted."""
    unit = Decimal(1).scaleb(-pv.invoice.digits)  # money at the currency's minor unit, as in the CSV

    def money(row: dict) -> dict:
        return {k: v.quantize(unit) if k in MONEY_COLUMNS and v is not None else v for k, v in row.items()}
    inv = money(pv.result.invoices.to_pylist()[0])
    lines = [money(x) for x in pv.result.lines.to_pylist()]
    tz = pv.invoice.billed.timezone
    return {"preview": True, "status": "draft", "as_of": pv.as_of, "usage_up_to": pv.usage_up_to,
            "usage_up_to_local": pv.usage_up_to.astimezone(ZoneInfo(tz)), "timezone": tz,
            "invoice": inv, "lines": lines, "counts": pv.result.counts}
