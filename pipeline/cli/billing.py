"""Billing commands: validate, run, preview."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..core.errors import BillingError

if TYPE_CHECKING:
    pass
from .common import EVENTS, LEDGER, LIMITS, OUTPUT, WINDOW, options, parse_date, progress, run_args
from .summaries import preview_table, run_summary, say

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


def engine_of(engine: str, scheduler: str | None, shards: int | None, workers: int | None):
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
        events: str | None, engine: str, scheduler: str | None, shards: int | None, workers: int | None,
        out: Path | None,
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
    say(quiet, output_format, doc, lambda: run_summary(result, target))


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
    click.echo(preview_table(doc, pv.invoice.digits))


COMMANDS = (validate, run, preview_command)
