"""explain_text: an explanation (pipeline/analysis/explain.py) as plain text for a person, or as JSON for tools.

JSON keeps every number exact: decimals as strings, dates and instants in ISO 8601.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(doc: dict) -> str:
    return json.dumps(_plain(doc), indent=2, ensure_ascii=False) + "\n"


def _d(value: Decimal | None) -> str:
    """An exact number without trailing zeros."""
    return "-" if value is None else f"{value.normalize():f}"


def _m(value: Decimal | None, digits: int) -> str:
    """Money at the currency's minor unit (values are already rounded to it)."""
    return "-" if value is None else f"{value:.{digits}f}"


def _pricing_lines(x: dict) -> list[str]:
    p = x["pricing"]
    model = p["model"]
    out = []
    if model == "graduated":
        for t in p["tiers"]:
            top = "and above" if t["up_to"] is None else f"to {_d(t['up_to'])}"
            out.append(f"tier {t['tier']} ({_d(t['from'])} {top}): {_d(t['units'])} x {_d(t['unit_price'])}"
                       f" + flat fee {_d(t['flat_fee'])} = {_d(t['amount'])}")
        out.append(f"sum of the tiers = {_d(p['exact'])}")
    elif model == "percentage":
        limits = ", ".join(f"{k} {_d(p[k]) if isinstance(p[k], Decimal) else p[k]}"
                           for k in ("free_events", "free_amount", "per_event_min",
                                     "per_event_max") if p[k] is not None)
        out.append(f"{_d(p['percent'])}% of each event's chargeable amount + {_d(p['fixed_fee'])}"
                   + (f"; {limits}" if limits else ""))
        for e in p.get("events", []):
            tail = f" ({e['limit']})" if e["limit"] else ""
            out.append(f"event {e['n']} {e['event_id']} at {e['timestamp']}: amount {_d(e['amount'])}, running total "
                       f"{_d(e['running_total'])}, {e['status']}, chargeable {_d(e['chargeable'])}: cost "
                       f"{_d(e['cost_before_limits'])} -> {_d(e['cost'])}{tail}")
        if p.get("events_note"):
            out.append(p["events_note"])
        out.append(f"sum over all events = {_d(p['exact'])}")
    else:
        out.append(f"{p['formula']} = {_d(p['exact'])}")
    return out


def to_text(doc: dict) -> str:
    i = doc["invoice"]
    digits = i["currency_digits"]
    number = f"{i['invoice_number']} ({i['invoice_id']})" if i["invoice_number"] else f"{i['invoice_id']} (not issued)"
    out = [f"Invoice {number}, {i['status']}" + (f" {i['kind']}" if i["kind"] != "invoice" else ""),
           f"  contract {i['contract_id']}, customer {i['customer_id']} ({i['customer_name']}), plan {i['plan_id']}, "
           f"{i['currency']} ({i['currency_digits']} digits)",
           f"  period {i['period_start']} to {i['period_end']} (end exclusive, {i['billing_period']}) in "
           f"{i['timezone']}: {i['period_start_at'].isoformat()} to {i['period_end_at'].isoformat()} UTC",
           f"  proration factor {i['proration_factor']} (full period {i['full_period_start']} to "
           f"{i['full_period_end']})",
           f"  {doc['recomputed']['note']}"]
    if doc.get("issued_note"):
        out.append(f"  note: {doc['issued_note']}")
    if doc["issued_differences"]:
        out.append(f"  DIFFERS from the issued invoice {i['invoice_number']} (late events or changed configuration): "
                   "`usagebill reconcile WS --from <last day> --to <day after> --contract "
                   f"{i['contract_id']}` shows it and --adjust bills it")
        for d in doc["issued_differences"]:
            out.append(f"    {d['line_type']} {d['charge_id'] or ''} {d['group_key']}: issued "
                       f"{_d(d['issued_quantity'])} / {_d(d['issued_amount'])}, now {_d(d['recomputed_quantity'])}"
                       f" / {_d(d['recomputed_amount'])}")
    elif i["invoice_number"] and i["kind"] == "invoice":
        out.append(f"  matches the issued invoice {i['invoice_number']} line for line")
    for x in doc["lines"]:
        out.append("")
        head = f"Line {x['line_number']}: {x['line_type']}"
        if x["charge_id"]:
            head += f" {x['charge_id']} ({x['model']})"
        out.append(f"{head}, amount {_m(x['amount'], digits)} {i['currency']}  [{x['description']}]")
        if x.get("terms_source"):
            out.append(f"  terms      {x['terms_source']}")
        if "metric" in x:
            m = x["metric"]
            what = m["aggregation"] + (f" of {m['field']}" if m["field"] else "")
            out.append(f"  metric     {m['id']}: {what} over `{m['event_type']}` events")
            if m["filters"]:
                out.append("  filters    " + "; ".join(f"{c} in {v}" for c, v in m["filters"].items()))
            if m["group_values"]:
                out.append("  group      " + ", ".join(f"{c}={v!r}" for c, v in m["group_values"].items()))
            out.append(f"  events     {x['events_counted']} counted ({x['events_sample_note']})")
            for e in x["events_sample"]:
                extra = " ".join(f"{k}={v}" for k, v in e.items()
                                 if k not in ("event_id", "timestamp", "source_file", "source_row"))
                out.append(f"             {e['timestamp']}  {e['event_id']}  {extra}  "
                           f"[{e['source_file']} row {e['source_row']}]")
        price = f", unit price {_d(x['unit_price'])}" if x["unit_price"] is not None else ""
        out.append(f"  quantity   {_d(x['quantity'])}" + price)
        for n, text in enumerate(_pricing_lines(x)):
            out.append(("  pricing    " if n == 0 else "             ") + text)
        r = x["rounding"]
        out.append(f"  rounding   {_d(r['exact'])} rounded {r['rule']} to {r['digits']} digits = "
                   f"{_m(r['amount'], digits)}")
    t, tot = doc["tax"], doc["totals"]
    out += ["", f"Subtotal   {_m(tot['subtotal'], digits)}  "
                "(sum of the charge, minimum, one-time and commitment lines)",
            f"Discount   {_m(tot['discount_total'], digits)}",
            f"Tax        {_m(t['tax_total'], digits)}: {t['rule']}; {_d(t['percent'])}%"
            + (f" {t['name']}" if t["name"] else "") + (f" ({t['note']})" if t["note"] else "")
            + f"; {t['formula']}",
            f"Total      {_m(tot['total'], digits)} {i['currency']}  ({tot['formula']})"]
    return "\n".join(out) + "\n"
