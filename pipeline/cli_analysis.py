"""The analysis commands: preview, report, explain (registered on the `cli` group of pipeline/cli.py).

Same conventions as the other commands: a BillingError is one red line and exit 1. None of them
writes to the ledger.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .cli import _date, cli, progress
from .cli_ledger import with_ledger


@cli.command("preview")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--contract", "contract_id", required=True, help="The contract whose open period is previewed.")
@click.option("--as-of", "as_of", required=True, callback=_date,
              help="Bill the period holding this local day, with the events before its local midnight.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--threads", type=click.IntRange(1, 256), help="Worker threads (default: all cores).")
@click.option("--memory-limit", help="Memory limit for the query engine, e.g. 4GB (default: 80% of RAM).")
@with_ledger
def preview_command(workspace: Path, contract_id: str, as_of: dt.date, fmt: str, threads: int | None,
                    memory_limit: str | None, ledger: Path | None, wait: float) -> None:
    """Show the open period's invoice so far, as a draft (the upcoming invoice); writes nothing.

    Usage up to the end of the day before --as-of counts (local midnight in the customer's time
    zone). Once the period closes, `run` gives the same lines and amounts when no later events arrive.

    Example: usagebill preview ws/ --contract k-42 --as-of 2026-10-15
    """
    from .explain_text import to_json
    from .preview import as_dict, preview

    with progress() as report:
        pv = preview(workspace, contract_id, as_of, threads=threads, memory_limit=memory_limit, progress=report,
                     ledger=ledger, wait=wait)
    doc = as_dict(pv)
    if fmt == "json":
        click.echo(to_json(doc), nl=False)
        return
    click.echo(_preview_table(doc, pv.invoice.digits))


def _preview_table(doc: dict, digits: int) -> str:
    inv, up_to, local = doc["invoice"], doc["usage_up_to"], doc["usage_up_to_local"]
    money = lambda v: "" if v is None else f"{v:.{digits}f}"  # noqa: E731
    out = [f"PREVIEW, draft (not issued): contract {inv['contract_id']}, period {inv['period_start']} to "
           f"{inv['period_end']}, usage up to {local.isoformat()} "
           f"({doc['timezone']}; {up_to.strftime('%Y-%m-%d %H:%M')} UTC)",
           f"invoice {inv['invoice_id']}  customer {inv['customer_id']}  plan {inv['plan_id']}  {inv['currency']}  "
           f"status {inv['status']}  issue date {inv['issue_date']}", ""]
    rows = [("#", "type", "charge", "group", "quantity", "unit price", "amount")]
    for x in doc["lines"]:
        rows.append((str(x["line_number"]), x["line_type"], x["charge_id"] or "", x["group_key"],
                     f"{x['quantity'].normalize():f}", "" if x["unit_price"] is None else f"{x['unit_price'].normalize():f}",
                     money(x["amount"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {0, 4, 5, 6}
    for r in rows:
        out.append("  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    tax = f"tax {inv['tax_percent'].normalize():f}%" + (f" {inv['tax_name']}" if inv["tax_name"] else "") + \
        (f" ({inv['tax_note']})" if inv["tax_note"] else "")
    out += ["", f"subtotal {money(inv['subtotal'])}  discount {money(inv['discount_total'])}  "
                f"{tax} {money(inv['tax_total'])}  total {money(inv['total'])} {inv['currency']}",
            f"events so far: {doc['counts']['billed']} billed, {doc['counts']['duplicate']} duplicate "
            f"(of {doc['counts']['read']} read for this customer)"]
    credit = doc["prepaid_credit"]
    if credit["drawn"]:
        sources = ", ".join(f"grant {c['grant_id']} {money(c['amount'])}" if c["source"] == "grant"
                            else f"customer credit {money(c['amount'])}" for c in credit["drawn"])
        out.append(f"prepaid credit it would draw if issued now: {money(credit['prepaid'])} ({sources}); "
                   f"amount due {money(credit['amount_due'])} {inv['currency']}")
    return "\n".join(out)


@cli.command("report")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--compare", type=click.Path(path_type=Path),
              help="Another output folder to compare with (default: the latest earlier run of the same window "
                   "beside OUT_DIR).")
def report_command(out_dir: Path, compare: Path | None) -> None:
    """Write OUT_DIR/report.html again from the files of a run's output folder.

    One self-contained page (charts inline, no network needed): totals by currency, plan and
    charge, top customers, daily usage per metric, quarantine with sample rows, the largest
    invoices, and what changed since an earlier run of the same window. `run` writes it too.

    Example: usagebill report ws/out/5bf2a887c38d627d --compare ws/out/0e1d2c3b4a596877
    """
    from .report import rerender

    click.echo(f"report: {rerender(out_dir, compare)}")


@cli.command("explain")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--invoice", "key", required=True, metavar="ID_OR_NUMBER",
              help="An issued number (INV-7) or an invoice_id (in_..., from invoices.csv).")
@click.option("--line", "line_number", type=click.IntRange(1), help="Explain only this line (line_number).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ledger", type=click.Path(path_type=Path), help="The ledger file (default WORKSPACE/ledger.duckdb).")
@click.option("--wait", type=click.FloatRange(0), default=600, show_default=True,
              help="Seconds to wait while another usagebill process holds the ledger.")
def explain_command(workspace: Path, key: str, line_number: int | None, fmt: str, ledger: Path | None,
                    wait: float) -> None:
    """Explain how an invoice's lines came about: metric, events counted, quantity, pricing, rounding, tax.

    The period is re-rated from the workspace's current inputs; an issued invoice that differs
    from that re-rating is flagged (see `usagebill reconcile`).

    Example: usagebill explain ws/ --invoice INV-7 --line 2
    """
    from .explain import explain
    from .explain_text import to_json, to_text

    doc = explain(workspace, key, line_number, ledger=ledger, wait=wait)
    click.echo(to_json(doc) if fmt == "json" else to_text(doc), nl=False)


@cli.command("terms")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--contract", "contract_id", required=True, help="The contract whose terms are shown.")
@click.option("--from", "first_day", callback=_date, help="Show the terms in force from this day (default: start).")
@click.option("--to", "stop_day", callback=_date, help="... up to this day, exclusive (default: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def terms_command(workspace: Path, contract_id: str, first_day: dt.date | None, stop_day: dt.date | None,
                  fmt: str) -> None:
    """Show a contract's terms over time: one block per change (plan versions, contract_terms.yaml),
    with the charges and prices in force, discount, commitment and the one-time charges.

    Example: usagebill terms ws/ --contract acme-1 --from 2026-01-01 --to 2027-01-01
    """
    from .explain_text import to_json
    from .terms_timeline import timeline, to_text

    if first_day and stop_day and stop_day <= first_day:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    doc = timeline(workspace, contract_id, first_day, stop_day)
    click.echo(to_json(doc) if fmt == "json" else to_text(doc), nl=False)
