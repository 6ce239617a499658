"""usagebill command line (click).

Errors a user can act on (`BillingError`) print as one red line and exit 1;
`--debug` shows the traceback. Progress goes to stderr: a spinner on a terminal,
plain timestamped lines in logs.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import click

from .cli_help import TourGroup
from .errors import BillingError


def _date(ctx, param, value):  # noqa: ANN001 - click callback
    if value is None:
        return None
    from .config.tables import FIRST_DATE, LAST_DATE

    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise click.BadParameter(f"{value} is outside the billing calendar; use a date from {FIRST_DATE} to {LAST_DATE}")
    return day


@contextmanager
def progress(quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A callback that reports the stage being run: rich status on a terminal, plain lines otherwise,
    nothing with --quiet."""
    start = time.perf_counter()
    if quiet:
        yield lambda _stage: None
    elif sys.stderr.isatty():
        from rich.console import Console

        with Console(stderr=True).status("starting") as status:
            yield lambda stage: status.update(f"[bold]{stage}[/bold] ({time.perf_counter() - start:.1f}s)")
    else:
        yield lambda stage: click.echo(f"usagebill: [{time.perf_counter() - start:7.2f}s] {stage}", err=True)


@click.group(cls=TourGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="usagebill")
def cli(debug: bool) -> None:
    """usagebill: batch rating and invoicing for usage-based billing.

    A workspace (pricebook.yaml, customers, contracts, tax_rates, events/) goes in;
    draft invoices, lines and usage come out as Parquet and CSV. Issued invoices,
    numbered and never billed twice, are kept in the ledger (WORKSPACE/ledger.duckdb).

    \b
    Check a workspace:   usagebill validate ws/
    Bill October:        usagebill run ws/ --from 2026-10-01 --to 2026-11-01
    Issue October:       usagebill issue ws/ --from 2026-10-01 --to 2026-11-01
    Every night:         usagebill nightly ws/ --as-of 2026-11-02
    Late events?         usagebill reconcile ws/ --from 2026-10-01 --to 2026-11-01 [--adjust]
    Why this amount?     usagebill explain ws/ --invoice INV-7
    """


window_options = [
    click.option("--from", "first_day", required=True, callback=_date,
                 help="Bill the periods whose last day is on or after this date (YYYY-MM-DD)."),
    click.option("--to", "stop_day", required=True, callback=_date,
                 help="... and before this date: --from 2026-10-01 --to 2026-11-01 bills periods closing in October."),
    click.option("--contract", "contracts", multiple=True, help="Bill only this contract (repeatable)."),
    click.option("--customer", "customers", multiple=True, help="Bill only this customer's contracts (repeatable)."),
    click.option("--dedup-window-days", default=34, show_default=True, type=click.IntRange(0, 3660),
                 help="How many days before the window earlier copies of an event are looked for."),
    click.option("--threads", type=click.IntRange(1, 256), help="Worker threads (default: all cores)."),
    click.option("--memory-limit", help="Memory limit for the query engine, e.g. 4GB (default: 80% of RAM)."),
]


def with_window(fn: Callable) -> Callable:
    for option in reversed(window_options):
        fn = option(fn)
    return fn


output_options = [
    click.option("--quiet", "-q", is_flag=True,
                 help="Print nothing but errors and warnings (for cron; the exit status tells the outcome)."),
    click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                 help="json: the summary as one JSON document on stdout (for scripts)."),
]


def with_output(fn: Callable) -> Callable:
    for option in reversed(output_options):
        fn = option(fn)
    return fn


def say(quiet: bool, output_format: str, doc: dict, text: Callable[[], None]) -> None:
    """The command's summary: `text()` lines, or `doc` as JSON, or nothing with --quiet."""
    if quiet:
        return
    if output_format == "json":
        click.echo(json.dumps(doc, indent=2, sort_keys=True, default=str))
    else:
        text()


def totals_line(currency: str, count: int, t: dict) -> str:
    """One currency's totals, adding up on screen: subtotal - discount + tax = total."""
    return (f"  {currency}: {count:>6} invoices  subtotal {t['subtotal']:>14}  discount {t['discount_total']:>12}"
            f"  tax {t['tax_total']:>12}  total {t['total']:>14}")


engine_options = [
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


def with_engine(fn: Callable) -> Callable:
    for option in reversed(engine_options):
        fn = option(fn)
    return fn


def engine_of(engine: str, scheduler: str | None, shards: int | None, workers: int | None):  # noqa: ANN201
    """The pipeline.engine.Engine of the command line's options (imported lazily: Dask is slow to import)."""
    from .engine import Engine

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


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@with_window
@with_engine
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/<run_id>); replaced atomically.")
@click.option("--no-report", is_flag=True, help="Do not write report.html (charts and summaries of the run).")
@with_output
def run(workspace: Path, first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...],
        customers: tuple[str, ...], dedup_window_days: int, threads: int | None, memory_limit: str | None,
        engine: str, scheduler: str | None, shards: int | None, workers: int | None, out: Path | None,
        no_report: bool, quiet: bool, output_format: str) -> None:
    """Rate WORKSPACE and write draft invoices for the periods closing in [--from, --to).

    Example: usagebill run ws/ --from 2026-10-01 --to 2026-11-01 --out out/october
    """
    from .engine import bill_with
    from .run import RunArgs, write_outputs

    if stop_day <= first_day:
        raise BillingError(f"--to {stop_day} must be after --from {first_day}")
    args = RunArgs(first_day, stop_day, tuple(contracts), tuple(customers), dedup_window_days)
    where = engine_of(engine, scheduler, shards, workers)
    with progress(quiet) as report:
        result = bill_with(where, workspace, args, threads=threads, memory_limit=memory_limit, progress=report)
        target = out or workspace / "out" / result.run_id
        report("emit")
        write_outputs(result, target, report=not no_report)
    doc = {"command": "run", "run_id": result.run_id, "out": str(target), "counts": result.counts,
           "totals": result.totals(), "warnings": result.warnings}
    say(quiet, output_format, doc, lambda: _summary(result, target))


def _summary(result, target: Path) -> None:  # noqa: ANN001 - pipeline.run.Bill
    c = result.counts
    quarantined = sum(c[k] for k in ("invalid", "unknown_customer", "no_active_contract", "unmetered"))
    click.echo(f"run {result.run_id}: {result.invoices.num_rows} invoices from {c['read']} events "
               f"({c['billed']} billed, {c['duplicate']} duplicate, {quarantined} quarantined, "
               f"{c['outside_window']} outside the window)")
    for currency, t in result.totals().items():
        click.echo(totals_line(currency, t["invoices"], t))
    if quarantined:
        reasons = ", ".join(f"{k} {c[k]}" for k in ("invalid", "unknown_customer", "no_active_contract", "unmetered")
                            if c[k])
        click.echo(f"  quarantine: {reasons} (see quarantine.parquet)")
    click.echo(f"outputs: {target}")


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path))
def validate(workspace: Path) -> None:
    """Check WORKSPACE's configuration and event file footers, without billing.

    Example: usagebill validate ws/
    """
    from .config.workspace import load_workspace
    from .ingest import discover
    from .preflight import metric_columns, print_warnings

    ws = load_workspace(workspace)
    events = discover(ws.root / "events")
    used = set().union(*(ws.metric_ids_ever(k) for k in ws.contracts.values() if k.plan_id in ws.pricebook.plans))
    metric_columns([ws.pricebook.metrics[m] for m in sorted(used) if m in ws.pricebook.metrics], events)
    print_warnings([{"code": code, "message": message} for code, message in sorted(ws.warnings)])
    click.echo(f"workspace ok: {len(ws.customers)} customers, {len(ws.contracts)} contracts, "
               f"{len(ws.pricebook.plans)} plans, {len(ws.pricebook.metrics)} metrics, "
               f"{len(events.files)} event files")


@cli.command("repartition")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="New folder: a workspace when SOURCE is one (configuration copied), else an events folder.")
@click.option("--buckets", type=click.IntRange(1, 9999), default=64, show_default=True,
              help="Customer buckets; a dask run whose --shards divides this reads only its own files.")
@click.option("--threads", type=click.IntRange(1, 256), help="Worker threads (default: all cores).")
@click.option("--memory-limit", help="Memory limit for the query engine, e.g. 4GB (default: 80% of RAM).")
def repartition_command(source: Path, out: Path, buckets: int, threads: int | None, memory_limit: str | None) -> None:
    """Rewrite the events of SOURCE (a workspace or an events folder) bucketed by customer and day.

    OUT/events/bucket=NN/event_date=YYYY-MM-DD/part-0.parquet: every row and column kept, so runs
    bill the same; `--engine dask` shards then read only their own buckets' files.

    Example: usagebill repartition ws/ --out ws-bucketed/ --buckets 64
    """
    from .repartition import repartition

    with progress() as report:
        done = repartition(source, out, buckets, threads=threads, memory_limit=memory_limit, progress=report)
    click.echo(f"repartitioned {done.events} events into {done.files} files, {done.buckets} buckets: {done.out}")


from . import cli_ledger  # noqa: E402,F401 - registers issue, nightly, reconcile, invoices, ... on `cli`
from . import cli_analysis  # noqa: E402,F401 - registers preview, report, explain on `cli`
from . import cli_credits  # noqa: E402,F401 - registers the credits group on `cli`


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.secho("aborted", fg="red", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BillingError as exc:
        if debug:
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - never a traceback without --debug
        if debug:
            raise
        click.secho(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                    fg="red", err=True)
        sys.exit(1)
