"""Billing commands: validate, run, preview."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..core.errors import BillingError

if TYPE_CHECKING:
    from ..billing.types import Bill
from .common import EVENTS, LEDGER, LIMITS, OUTPUT, WINDOW, options, parse_date, progress, run_args, say, totals_line

ENGINE = [
    click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                 help="local: this process. dask: sharded by customer over a Dask cluster (same bytes out)."),
    click.option("--scheduler", metavar="ADDRESS",
                 help="With --engine dask: the scheduler (tcp://HOST:8786, or a scheduler file); "
                      "default: start a local cluster."),
    click.option("--shards", type=click.IntRange(1, 100000),
                 help="With --engine dask: tasks, by customer hash (default: the cluster's worker threads).  "
                      "--threads and --memory-limit apply to each task."),
    click.option("--workers", type=click.IntRange(1, 1024),
                 help="With --engine dask and no --scheduler: local cluster processes (default: one per CPU)."),
]


def engine_of(engine: str, scheduler: str | None, shards: int | None, workers: int | None):  # noqa: ANN201
    """The pipeline.scale_out.engine.Engine of the command line's options (imported lazily: Dask is slow to import)."""
    from ..scale_out.engine import Engine

    if engine == "local":
        given = [name for name, value in (("--scheduler", scheduler), ("--shards", shards), ("--workers", workers))
                 if value is not None]
        if given:
            raise BillingError(f"{', '.join(given)}: only with --engine dask (add --engine dask, "
                               "or leave the option out)")
        return None
    if scheduler and workers:
        raise BillingError("--workers starts a local cluster; with --scheduler the cluster has its own workers")
    return Engine(engine, scheduler, shards, workers)


@click.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@options(WINDOW, ENGINE)
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/<run_id>); replaced atomically.")
@click.option("--no-report", is_flag=True, help="Do not write report.html (charts and summaries of the run).")
@options(OUTPUT)
def run(workspace: Path, first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...],
        customers: tuple[str, ...], dedup_window_days: int, threads: int | None, memory_limit: str | None,
        events: str | None, engine: str, scheduler: str | None, shards: int | None, workers: int | None, out: Path | None,
        no_report: bool, quiet: bool, output_format: str) -> None:
    """Rate WORKSPACE and write draft invoices for the periods closing in [--from, --to).

    Example: usagebill run ws/ --from 2026-10-01 --to 2026-11-01 --out out/october
    """
    from ..billing.run import write_outputs
    from ..scale_out.engine import bill_with

    args = run_args(first_day, stop_day, contracts, customers, dedup_window_days, events)
    where = engine_of(engine, scheduler, shards, workers)
    with progress(quiet) as report:
        result = bill_with(where, workspace, args, threads=threads, memory_limit=memory_limit, progress=report)
        target = out or workspace / "out" / result.run_id
        report("emit")
        write_outputs(result, target, report=not no_report)
    doc = {"command": "run", "run_id": result.run_id, "out": str(target), "counts": result.counts,
           "totals": result.totals(), "warnings": result.warnings}
    say(quiet, output_format, doc, lambda: _summary(result, target))


def _summary(result: Bill, target: Path) -> None:
    from ..billing.ingest import QUARANTINE_REASONS

    c = result.counts
    quarantined = sum(c[k] for k in QUARANTINE_REASONS)
    click.echo(f"run {result.run_id}: {result.invoices.num_rows} invoices from {c['read']} events "
               f"({c['billed']} billed, {c['duplicate']} duplicate, {quarantined} quarantined, "
               f"{c['outside_window']} outside the window)")
    for currency, t in result.totals().items():
        click.echo(totals_line(currency, t["invoices"], t))
    if quarantined:
        reasons = ", ".join(f"{k} {c[k]}" for k in QUARANTINE_REASONS if c[k])
        click.echo(f"  quarantine: {reasons} (see quarantine.parquet)")
    click.echo(f"outputs: {target}")


@click.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@options(EVENTS)
def validate(workspace: Path, events: str | None) -> None:
    """Check WORKSPACE's configuration and event file footers, without billing.

    Example: usagebill validate ws/
    """
    from ..billing.ingest import discover
    from ..billing.preflight import metric_columns, print_warnings
    from ..billing.run import events_of
    from ..config.workspace import load_workspace

    ws = load_workspace(workspace)
    location = events_of(ws, events)
    events = discover(location)
    used = set().union(*(ws.metric_ids_ever(k) for k in ws.contracts.values() if k.plan_id in ws.pricebook.plans))
    metric_columns([ws.pricebook.metrics[m] for m in sorted(used) if m in ws.pricebook.metrics], events)
    print_warnings([{"code": code, "message": message} for code, message in sorted(ws.warnings)])
    click.echo(f"workspace ok: {len(ws.customers)} customers, {len(ws.contracts)} contracts, "
               f"{len(ws.pricebook.plans)} plans, {len(ws.pricebook.metrics)} metrics, "
               f"{len(events.files)} event files" + (f" in {location}" if events.remote else ""))


@click.command("preview")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--contract", "contract_id", required=True, help="The contract whose open period is previewed.")
@click.option("--as-of", "as_of", required=True, callback=parse_date,
              help="Bill the period holding this local day, with the events before its local midnight.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@options(LIMITS, EVENTS, LEDGER)
def preview_command(workspace: Path, contract_id: str, as_of: dt.date, fmt: str, threads: int | None,
                    memory_limit: str | None, events: str | None, ledger: Path | None, wait: float) -> None:
    """Show the open period's invoice so far, as a draft (the upcoming invoice); writes nothing.

    Usage up to the end of the day before --as-of counts (local midnight in the customer's time
    zone). Once the period closes, `run` gives the same lines and amounts when no later events arrive.
    The prepaid credit it would draw if issued now is read from the ledger (only read).

    Example: usagebill preview ws/ --contract k-42 --as-of 2026-10-15
    """
    from ..analysis.explain_text import to_json
    from ..billing.preview import as_dict, preview
    from ..ledger.credit_report import preview_credit

    with progress() as report:
        pv = preview(workspace, contract_id, as_of, threads=threads, memory_limit=memory_limit, progress=report,
                     events=events)
    doc = as_dict(pv)
    doc["prepaid_credit"] = preview_credit(workspace, doc["invoice"], pv.invoice.digits, ledger=ledger, wait=wait)
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


COMMANDS = (validate, run, preview_command)
