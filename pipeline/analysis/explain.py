"""explain: how one invoice's lines came about, from the events to the rounded amount.

`usagebill explain WS --invoice ID_OR_NUMBER [--line N]`:
1. Resolve the key: an issued number (INV-7) or an invoice_id (in_...) in the ledger, which names
   the contract and period; else an invoice_id recomputed from every contract's periods up to a
   year from today (invoice_id is deterministic per contract and period).
2. Re-rate just that contract and period, exactly as `run` would today.
3. Per line: the metric (event type, aggregation, filters, group), the events counted and the first
   few of them, the quantity, the pricing term by term (explain_pricing), the exact and the rounded
   amount; then discount, tax rule and totals. An issued invoice that differs from today's re-rating
   is said so (see `usagebill reconcile`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..billing.ingest import discover
from ..billing.invoice import Invoice, invoice_id
from ..billing.periods import Period, period
from ..billing.run import bill, events_of
from ..billing.types import DEDUP_WINDOW_DAYS, RunArgs
from ..config.workspace import Workspace, load_workspace
from ..core.errors import BillingError
from .explain_events import SAMPLE, percentage_events, samples
from .explain_pricing import pricing

SEARCH_DAYS_AHEAD = 366  # an invoice_id is looked for among periods starting up to a year from today


@dataclass
class Target:
    contract_id: str
    period: Period
    issued: dict | None = None  # the ledger's invoice document, when the key names an issued one
    issued_lines: list[dict] = field(default_factory=list)


def _from_ledger(workspace: Path, key: str, ledger: Path | None, wait: float) -> tuple[dict | None, list[dict]]:
    from ..ledger.store import ledger_path, open_ledger

    path = ledger_path(workspace, ledger)
    if not path.exists():
        return None, []
    with open_ledger(path, write=False, wait=wait) as led:
        rows = led.fetch("explain_invoice", {"key": key}).to_pylist()
        if not rows:
            return None, []
        lines = led.fetch("explain_lines", {"number": rows[0]["invoice_number"]}).to_pylist()
    return rows[0], lines


def _period_of(ws: Workspace, contract_id: str, start: dt.date) -> Period | None:
    k = ws.contracts.get(contract_id)
    n = 0
    while k is not None and (p := period(k, n)) is not None and p.start <= start:
        if p.start == start:
            return p
        n += 1
    return None


def _search(ws: Workspace, key: str, today: dt.date) -> tuple[str, Period] | None:
    """The contract and period whose deterministic invoice_id is `key`."""
    bound = today + dt.timedelta(days=SEARCH_DAYS_AHEAD)
    for k in sorted(ws.contracts.values(), key=lambda k: k.contract_id):
        n = 0
        while (p := period(k, n)) is not None and p.start <= bound:
            if invoice_id(k.contract_id, p.start) == key:
                return k.contract_id, p
            n += 1
    return None


def resolve(workspace: Path, ws: Workspace, key: str, *, ledger: Path | None = None, wait: float = 600,
            today: dt.date | None = None) -> Target:
    issued, lines = _from_ledger(workspace, key, ledger, wait)
    if issued is not None:
        p = _period_of(ws, issued["contract_id"], issued["period_start"])
        if p is None or p.end != issued["period_end"]:
            raise BillingError(f"invoice {key}: the ledger bills contract {issued['contract_id']} for "
                               f"{issued['period_start']} to {issued['period_end']}, which is no longer one of its "
                               "billing periods in this workspace; `usagebill reconcile` shows what changed")
        return Target(issued["contract_id"], p, issued, lines)
    if key.startswith("in_"):
        found = _search(ws, key, today or dt.date.today())
        if found is not None:
            return Target(*found)
        raise BillingError(f"invoice {key}: no contract period of this workspace (up to {SEARCH_DAYS_AHEAD} days "
                           "from today) has this invoice_id, and the ledger has no such invoice; copy the id from "
                           "invoices.csv of a run of this workspace")
    raise BillingError(f"invoice {key}: not in the ledger ({ledger or Path(workspace) / 'ledger.duckdb'}); pass an "
                       "issued number such as INV-7 (see `usagebill invoices`) or an invoice_id (in_..., from "
                       "invoices.csv)")


def _issued_differences(inv: Invoice, issued: dict, issued_lines: list[dict]) -> list[dict]:
    if issued.get("kind") != "invoice":
        return []
    now = {(x.line_type, x.charge_id or "", x.group_key): x for x in inv.lines}
    then = {(r["line_type"], r["charge_id"] or "", r["group_key"] or ""): r for r in issued_lines}
    out = []
    for k in sorted(now.keys() | then.keys()):
        a, b = then.get(k), now.get(k)
        if a is None or b is None or a["amount"] != b.amount or (a["quantity"] != b.quantity):
            out.append({"line_type": k[0], "charge_id": k[1] or None, "group_key": k[2],
                        "issued_quantity": None if a is None else a["quantity"],
                        "recomputed_quantity": None if b is None else b.quantity,
                        "issued_amount": None if a is None else a["amount"],
                        "recomputed_amount": None if b is None else b.amount})
    for name in ("tax_total", "total"):
        if issued[name] != getattr(inv, name):
            out.append({"line_type": name, "charge_id": None, "group_key": "", "issued_quantity": None,
                        "recomputed_quantity": None, "issued_amount": issued[name],
                        "recomputed_amount": getattr(inv, name)})
    return out


def _line(inv: Invoice, line, ws: Workspace, sampled: dict) -> dict:
    terms = inv.billed.terms
    charges = {c.id: c for c in terms.charges}
    charge = charges.get(line.charge_id) if line.line_type != "one_time" else None
    priced, steps = pricing(inv, line, charges, terms.minimum_commitment, terms.discount_percent)
    out = {"line_number": line.line_number, "line_type": line.line_type, "charge_id": line.charge_id,
           "model": charge.model if charge is not None and line.line_type in ("flat", "usage") else line.line_type,
           "description": line.description, "group_key": line.group_key, "quantity": line.quantity,
           "unit_price": line.unit_price, "steps": steps}
    out["terms_source"] = terms.line_source(line.line_type, line.charge_id)  # plan, version or contract entry
    if line.line_type == "usage":
        m = ws.pricebook.metrics[line.metric_id]
        values = _group_values(line.group_key, m.group_by)
        out["metric"] = {"id": m.id, "event_type": m.event_type, "aggregation": m.aggregation, "field": m.field,
                         "filters": {c: list(v) for c, v in m.filters}, "group_by": list(m.group_by),
                         "group_values": dict(zip(m.group_by, values))}
        out["events_counted"] = line.events
        matched, rows = sampled[line.line_number]
        out["events_matched"] = matched
        out["events_sample"] = rows
        out["events_sample_note"] = (f"the first {len(rows)} of {matched} events by (timestamp, event_id); "
                                     "duplicates and quarantined events excluded")
    out["pricing"] = priced
    if charge is not None and charge.model == "percentage" and line.line_type == "usage":
        amounts = [r[out["metric"]["field"]] for r in out["events_sample"]]
        out["pricing"]["events"] = [{**e, "event_id": r["event_id"], "timestamp": r["timestamp"]}
                                    for e, r in zip(percentage_events(charge.params, amounts), out["events_sample"])]
        out["pricing"]["events_note"] = (f"the first {len(amounts)} of {line.events} events, in (timestamp, "
                                         "event_id) order; the line's exact amount is the sum over all of them")
    out["exact_amount"] = line.exact_amount
    out["amount"] = line.amount
    out["rounding"] = {"exact": line.exact_amount, "digits": inv.digits, "rule": "half away from zero",
                       "amount": line.amount}
    return out


def _group_values(key: str, group_by: tuple[str, ...]) -> tuple[str, ...]:
    """Split 'a=x,b=y' knowing the column names (values may hold ',' or '=')."""
    values, rest = [], key
    for i, col in enumerate(group_by):
        rest = rest[len(col) + 1:]
        if i + 1 < len(group_by):
            cut = rest.index(f",{group_by[i + 1]}=")
            values.append(rest[:cut])
            rest = rest[cut + 1:]
        else:
            values.append(rest)
    return tuple(values)


def explain(workspace: Path, key: str, line_number: int | None = None, *, ledger: Path | None = None,
            wait: float = 600, threads: int | None = None, today: dt.date | None = None,
            events: str | None = None) -> dict:
    """The explanation of invoice `key` (all lines, or line `line_number`), as plain data."""
    ws = load_workspace(workspace)
    target = resolve(workspace, ws, key, ledger=ledger, wait=wait, today=today)
    last = target.period.last_day
    args = RunArgs(last, last + dt.timedelta(days=1), (target.contract_id,), events=events)
    result = bill(workspace, args, threads=threads, objects=True)
    wanted = invoice_id(target.contract_id, target.period.start)
    inv = next(i for i in result.invoice_objects if i.invoice_id == wanted)
    if line_number is not None and not 1 <= line_number <= len(inv.lines):
        raise BillingError(f"--line {line_number}: invoice {key} has lines 1 to {len(inv.lines)}")
    doc = explain_invoice(ws, discover(events_of(ws, events)), inv, target, line_number, args.dedup_window_days)
    doc["invoice"]["key"] = key
    doc["recomputed"] = {"run_id": result.run_id, "counts": result.counts,
                         "note": "re-rated now from the workspace's current inputs, like `usagebill run` of this "
                                 "period"}
    return doc


def explain_invoice(ws: Workspace, events, inv: Invoice, target: Target | None = None,  # EventFiles
                    line_number: int | None = None, dedup_window_days: int = DEDUP_WINDOW_DAYS) -> dict:
    """The explanation of one rated invoice (and of the issued document it is compared with, if any)."""
    contract, customer = inv.billed.contract, ws.customers[inv.billed.contract.customer_id]
    p = inv.billed.period
    issued = target.issued if target is not None and target.issued else {}
    rule = ws.tax_of(customer)
    base = inv.subtotal - inv.discount_total
    chosen = [x for x in inv.lines if line_number is None or x.line_number == line_number]
    usage = [x for x in chosen if x.line_type == "usage"]
    metrics = [ws.pricebook.metrics[x.metric_id] for x in usage]
    found = samples(events, [(m, _group_values(x.group_key, m.group_by)) for m, x in zip(metrics, usage)],
                    customer.customer_id, inv.billed.start_at, inv.billed.end_at, dedup_window_days, SAMPLE)
    sampled = {x.line_number: f for x, f in zip(usage, found)}
    doc = {
        "invoice": {"key": inv.invoice_id, "invoice_id": inv.invoice_id, "invoice_number": issued.get("invoice_number"),
                    "status": issued.get("status", "draft"), "kind": issued.get("kind", "invoice"),
                    "original_invoice_number": issued.get("original_invoice_number"),
                    "contract_id": contract.contract_id, "customer_id": customer.customer_id,
                    "customer_name": customer.name, "plan_id": contract.plan_id, "currency": inv.currency,
                    "currency_digits": inv.digits, "period_start": p.start, "period_end": p.end,
                    "timezone": inv.billed.timezone, "period_start_at": inv.billed.start_at,
                    "period_end_at": inv.billed.end_at, "billing_period": contract.billing_period,
                    "full_period_start": p.full_start, "full_period_end": p.full_end,
                    "proration_factor": f"{p.factor.numerator}/{p.factor.denominator}",
                    "subtotal": inv.subtotal, "discount_total": inv.discount_total, "tax_total": inv.tax_total,
                    "total": inv.total},
        "recomputed": {"note": "rated from the workspace's current inputs"},
        "issued_differences": _issued_differences(inv, issued, target.issued_lines) if issued else [],
        "lines": [_line(inv, x, ws, sampled) for x in chosen],
        "tax": {"rule": {"exempt": "tax exempt customer", "reverse_charge": "EU reverse charge (valid tax_id, "
                         "seller and customer in two member states)"}.get(rule.note, f"rate of {customer.country} "
                         "from tax_rates (or its '*' row)"),
                "country": customer.country, "percent": inv.tax_percent, "note": inv.tax_note, "name": inv.tax_name,
                "base": base, "exact": base * inv.tax_percent / 100, "tax_total": inv.tax_total,
                "formula": f"round(({inv.subtotal} - {inv.discount_total}) x {inv.tax_percent}%)"},
        "totals": {"subtotal": inv.subtotal, "discount_total": inv.discount_total, "tax_total": inv.tax_total,
                   "total": inv.total, "formula": "subtotal (charge, minimum and commitment lines) - discount + tax"},
    }
    if issued and issued.get("kind") != "invoice":
        doc["issued_note"] = (f"{issued['invoice_number']} is an {issued['kind']} invoice correcting "
                              f"{issued.get('original_invoice_number')}: its lines are differences; shown here is "
                              "the period's full re-rating")
    return doc
