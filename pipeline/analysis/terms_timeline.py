"""terms_timeline: a contract's terms over time, one block per change (`usagebill terms`).

Each block starts at the period start from which its terms are in force (a change dated
inside a period waits for the next one) and lists the charges with their prices, the
discount, the commitment and where each came from, so "what did this customer pay per
API call in March" is one look. One-time charges dated in the window are listed too.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

from ..billing.periods import terms_starts
from ..config.workspace import load_workspace
from ..core.errors import ConfigError


def _prices(params: object) -> dict:
    """A charge model's parsed fields as plain data (tiers as a list of rows)."""
    if params is None:
        return {}
    out = dataclasses.asdict(params)
    if "tiers" in out:
        out["tiers"] = [{"from": t["lower"], "up_to": t["up_to"], "unit_price": t["unit_price"],
                         "flat_fee": t["flat_fee"]} for t in out["tiers"]]
    return out


def timeline(workspace: Path, contract_id: str, first_day: dt.date | None = None,
             stop_day: dt.date | None = None) -> dict:
    """The contract's terms blocks that are in force some day of [first_day, stop_day)."""
    ws = load_workspace(workspace)
    if contract_id not in ws.contracts:
        raise ConfigError([f"--contract {contract_id}: no such contract in contracts"])
    k = ws.contracts[contract_id]
    starts = terms_starts(k, ws.terms.change_dates(k))
    ends = starts[1:] + [k.end_date]
    blocks = []
    for start, end in zip(starts, ends):
        if (stop_day is not None and start >= stop_day) or (first_day is not None and end is not None
                                                            and end <= first_day):
            continue
        t = ws.terms_at(k, start)
        blocks.append({
            "from": start, "until": end, "sources": list(t.sources),
            "discount_percent": t.discount_percent, "discount_source": t.discount_source,
            "minimum_commitment": t.minimum_commitment, "commitment_source": t.commitment_source,
            "charges": [{"id": c.id, "name": c.label, "model": c.model, "metric": c.metric_id,
                         "min_amount": c.min_amount, "prices": _prices(c.params), "source": c.source}
                        for c in t.charges]})
    one_time = [dataclasses.asdict(o) for o in ws.one_time.get(contract_id, ())
                if (first_day is None or o.date >= first_day) and (stop_day is None or o.date < stop_day)]
    return {"contract_id": contract_id, "customer_id": k.customer_id, "plan_id": k.plan_id,
            "currency": ws.plan_of(k).currency, "start_date": k.start_date, "end_date": k.end_date,
            "blocks": blocks, "one_time_charges": one_time}


def _num(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _price_text(prices: dict) -> str:
    parts = []
    for key, value in prices.items():
        if key == "tiers":
            rows = [f"{_num(t['from'])}-{_num(t['up_to']) if t['up_to'] is not None else ''} @ {_num(t['unit_price'])}"
                    + (f" + {_num(t['flat_fee'])}" if t["flat_fee"] else "") for t in value]
            parts.append("tiers " + "; ".join(rows))
        elif value is not None and value is not False and not (key == "prorate" and value is True):
            parts.append(f"{key} {_num(value)}")
    return ", ".join(parts)


def to_text(doc: dict) -> str:
    out = [f"Terms of contract {doc['contract_id']} (customer {doc['customer_id']}, plan {doc['plan_id']}, "
           f"{doc['currency']}), service from {doc['start_date']}"
           + (f" until {doc['end_date']}" if doc["end_date"] else "")]
    for b in doc["blocks"]:
        until = f" to {b['until']}" if b["until"] else " onwards"
        out += ["", f"periods starting {b['from']}{until}: " + " + ".join(b["sources"])]
        rows = [("charge", "name", "model", "metric", "prices", "source")]
        for c in b["charges"]:
            prices = _price_text(c["prices"]) + (f", min_amount {_num(c['min_amount'])}" if c["min_amount"] else "")
            rows.append((c["id"], c["name"], c["model"], c["metric"] or "", prices, c["source"]))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        out += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
        out.append(f"  discount {_num(b['discount_percent'])}% ({b['discount_source']}), minimum commitment "
                   f"{_num(b['minimum_commitment'])} ({b['commitment_source']})")
    if doc["one_time_charges"]:
        out += ["", "one-time charges:"]
        out += [f"  {o['date']}  {o['charge_id']}  {o['description']}: {_num(o['quantity'])} x {_num(o['unit_price'])}"
                for o in doc["one_time_charges"]]
    return "\n".join(out) + "\n"
