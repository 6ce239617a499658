"""report: report.html, one self-contained page about a run (inline SVG charts, no network needed).

Totals by currency, plan and charge; top customers; daily usage per metric; quarantine by
reason with sample rows; the largest invoices; and what changed since an earlier run of the same
window. Written by every `run` (unless --no-report) into its output folder; `usagebill report
OUT_DIR` renders it again from the files there. Same data, same bytes: nothing on the page comes
from the clock (the manifest's timings are left out). Every value is escaped (Jinja2 autoescape;
chart text by the XML serializer).

    data.py         the run's files read back and summed (Arrow)
    charts.py       pygal charts as inline SVG
    compare.py      what changed since an earlier run of the same window
    report.html.j2  the page's template
"""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ...core.errors import OutputError
from ...core.io import os_reason, write_bytes
from ..types import Bill
from . import charts
from .compare import Changes, changes, earlier_run
from .data import (
    REASONS,
    RunData,
    charge_totals,
    currency_totals,
    daily_series,
    largest_invoices,
    money,
    plan_totals,
    quarantine_samples,
    top_customers,
)

NAME = "report.html"
CHARTED_CURRENCIES = 4  # currencies with the most invoices get charts; every currency gets its tables
CHARTED_METRICS = 8
TOP = 10
SAMPLE_COLUMNS = 8  # quarantine samples: where the row came from, the event keys, then a few more columns
CELL = 80  # characters of a sample cell shown

_env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _money_rows(rows: list[dict], currency_of, keys: tuple[str, ...]) -> list[dict]:
    return [{**r, **{k: money(r[k], currency_of(r)) for k in keys if k in r}} for r in rows]


def _sign(delta: Decimal) -> str:
    return "pos" if delta > 0 else "neg" if delta < 0 else ""


def _cell(value: object) -> str:
    text = "" if value is None else value.isoformat(sep=" ") if hasattr(value, "isoformat") and not isinstance(
        value, str) and hasattr(value, "hour") else str(value)
    return text if len(text) <= CELL else text[:CELL - 1] + "\u2026"


def _per_currency(d: RunData) -> list[dict]:
    plans, charges_, customers, largest = plan_totals(d), charge_totals(d), top_customers(d, TOP), \
        largest_invoices(d, TOP)
    totals = currency_totals(d)
    charted = {r["currency"] for r in sorted(totals, key=lambda r: (-r["count"], r["currency"]))[:CHARTED_CURRENCIES]}
    out = []
    for n, t in enumerate(totals):
        cur = t["currency"]
        p = [r for r in plans if r["currency"] == cur]
        c = [r for r in charges_ if r["currency"] == cur]
        k = customers.get(cur, [])
        entry = {
            "currency": cur,
            "plans": _money_rows(p, lambda r, cur=cur: cur, ("subtotal", "total")),
            "charges": _money_rows(c, lambda r, cur=cur: cur, ("amount",)),
            "customers": _money_rows(k, lambda r, cur=cur: cur, ("total",)),
            "largest": _money_rows(largest.get(cur, []), lambda r, cur=cur: cur, ("subtotal", "tax_total", "total")),
        }
        if cur in charted and len(p) > 1:
            entry["plan_chart"] = Markup(charts.hbar(f"plan-{n}", f"Subtotal by plan ({cur})",
                                                     [r["plan_id"] or "" for r in p], [r["subtotal"] for r in p]))
        if cur in charted:
            entry["charge_chart"] = Markup(charts.hbar(
                f"charge-{n}", f"Amount by charge ({cur})",
                [f"{r['charge_id']} \u00b7 {r['line_type']}" if r["charge_id"] else r["line_type"] for r in c],
                [r["amount"] for r in c]))
            entry["customer_chart"] = Markup(charts.hbar(f"customer-{n}", f"Top {len(k)} customers by total ({cur})",
                                                         [r["customer_id"] for r in k], [r["total"] for r in k]))
        out.append(entry)
    return out


def _daily(d: RunData) -> tuple[list[dict], list[dict], int]:
    series = daily_series(d)
    charted = []
    for n, m in enumerate(series[:CHARTED_METRICS]):
        days = sorted(m["days"])
        first, last = days[0], days[-1]
        span = [first + (last - first).__class__(days=i) for i in range((last - first).days + 1)]
        lines = {"billed events": [m["days"].get(day, (0, None))[0] for day in span]}
        title = f"{m['metric_id']}: billed events per day"
        chart = charts.lines(f"daily-{n}", title, [day.isoformat() for day in span], lines)
        charted.append({"metric_id": m["metric_id"], "chart": Markup(chart)})
    table = [{"metric_id": m["metric_id"], "events": m["events"], "days": len(m["days"]),
              "first": min(m["days"]).isoformat(), "last": max(m["days"]).isoformat()} for m in series]
    return charted, table, max(0, len(series) - CHARTED_METRICS)


def _quarantine(d: RunData) -> dict:
    counts = d.manifest.get("counts", {})
    reasons = [(r, counts.get(r, 0)) for r in REASONS if counts.get(r, 0)]
    if not reasons:
        return {"quarantined": False}
    samples = quarantine_samples(d)
    columns = {}
    shown = {}
    for reason, rows in samples.items():
        names = list(rows[0]) if rows else []
        first = [c for c in ("source_file", "source_row", "event_id", "customer_id", "event_type", "timestamp")
                 if c in names]
        rest = [c for c in names if c not in first and c != "reason"]
        columns[reason] = (first + rest)[:SAMPLE_COLUMNS]
        shown[reason] = [{c: _cell(r.get(c)) for c in columns[reason]} for r in rows]
    chart = charts.hbar("quarantine", "Quarantined events by reason", [r for r, _ in reasons],
                        [n for _, n in reasons])
    return {"quarantined": True, "quarantine_counts": reasons, "reason_counts": dict(reasons),
            "samples": [(r, shown[r]) for r, _ in reasons if shown.get(r)], "sample_columns": columns,
            "quarantine_chart": Markup(chart)}


def _changes(d: RunData, earlier: Path | None) -> Changes | None:
    if earlier is None:
        return None
    c = changes(d, earlier)
    c.more = max(0, c.changed + c.added + c.removed - len(c.rows))
    def shown(r: dict) -> dict:
        plus = "+" if r["delta"] > 0 else ""
        return {**r, "sign": _sign(r["delta"]), "before": money(r["before"], r["currency"]),
                "after": money(r["after"], r["currency"]), "delta": plus + money(r["delta"], r["currency"])}
    c.rows = [shown(r) for r in c.rows]
    c.totals = [shown(r) for r in c.totals]
    return c


def render(d: RunData, earlier: Path | None = None) -> str:
    """report.html's text for one run (compared with `earlier`, an output folder, when given)."""
    m = d.manifest
    args = m.get("arguments", {})
    counts = m.get("counts", {})
    window = (f"as of {args['as_of']}" if "as_of" in args else
              f"periods closing {args.get('from')} to {args.get('to')} (exclusive)")
    selection = ", ".join([f"contract {c}" for c in args.get("contracts", [])] +
                          [f"customer {c}" for c in args.get("customers", [])])
    quarantined = sum(counts.get(r, 0) for r in REASONS)
    cards = [("events read", counts.get("read", 0)), ("billed", counts.get("billed", 0)),
             ("duplicate", counts.get("duplicate", 0)), ("quarantined", quarantined),
             ("outside the window", counts.get("outside_window", 0))]
    totals = [{**r, **{k: money(r[k], r["currency"]) for k in ("subtotal", "discount_total", "tax_total", "total")}}
              for r in currency_totals(d)]
    daily, daily_table, daily_more = _daily(d)
    return _env.get_template("report.html.j2").render(
        m=m, command=m.get("command", "run"), window=window, selection=selection, cards=cards,
        invoice_count=d.invoices.num_rows, currencies=totals, per_currency=_per_currency(d), top_n=TOP,
        daily=daily, daily_table=daily_table, daily_more=daily_more, daily_missing=d.daily is None,
        changes=_changes(d, earlier), warnings=m.get("warnings", []), **_quarantine(d))


def write_report(stage: Path, result: Bill, target: Path) -> None:
    """report.html of a run being written into `stage` (to be published as `target`)."""
    d = RunData.from_bill(result)
    write_bytes(Path(stage) / NAME, render(d, earlier_run(target, d.manifest, include_self=True)).encode())


def rerender(folder: Path, compare: Path | None = None) -> Path:
    """Write report.html again from the files of an output folder (replacing it in one step)."""
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise OutputError(f"{folder}: no manifest.json here; pass an output folder of usagebill run")
    d = RunData.from_folder(folder)
    if compare is not None and not (Path(compare) / "manifest.json").is_file():
        raise OutputError(f"{compare}: no manifest.json here; --compare takes another output folder")
    earlier = Path(compare) if compare is not None else earlier_run(folder, d.manifest, include_self=False)
    path = folder / NAME
    tmp = folder / f".{NAME}.tmp-{os.getpid()}"
    try:
        write_bytes(tmp, render(d, earlier).encode())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: writing the report failed ({os_reason(exc)}); check free space and "
                          "permissions") from None
    return path
