"""What the commands share: option groups, date parsing, progress, summaries.

Each option is defined once here; a command takes the groups it needs (`@options(WINDOW)`).
"""
from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..core.errors import BillingError


def parse_date(ctx, param, value):  # click callback
    if value is None:
        return None
    from ..config.tables import FIRST_DATE, LAST_DATE

    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise click.BadParameter(f"{value} is outside the billing calendar; use a date from {FIRST_DATE} to "
                                 f"{LAST_DATE}")
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


def options(*groups: list) -> Callable[[Callable], Callable]:
    """Apply option groups (lists of click options) to a command, in the order given."""
    def apply(fn: Callable) -> Callable:
        for option in reversed([o for group in groups for o in group]):
            fn = option(fn)
        return fn
    return apply


def check_window(first_day: dt.date | None, stop_day: dt.date | None) -> None:
    """--to must be after --from (when both are given)."""
    if first_day and stop_day and stop_day <= first_day:
        raise BillingError(f"--to {stop_day} must be after --from {first_day}")


def run_args(first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...], customers: tuple[str, ...],
             dedup_window_days: int, events: str | None = None):  # billing.types.RunArgs, lazily
    from ..billing.types import RunArgs

    check_window(first_day, stop_day)
    return RunArgs(first_day, stop_day, tuple(contracts), tuple(customers), dedup_window_days, events)


LIMITS = [
    click.option("--threads", type=click.IntRange(1, 256), help="Worker threads (default: all cores)."),
    click.option("--memory-limit", help="Memory limit for the query engine, e.g. 4GB "
                                        "(default: a sixth of RAM, 4 GB on 24 GB; it spills beyond)."),
]
EVENTS = [
    click.option("--events", "events", metavar="URI",
                 help="Where the events are: s3://BUCKET/PREFIX/ (S3, MinIO, R2: AWS_* variables, "
                      "docs/object-storage.md) or a folder (default: settings.yaml `events:`, else WORKSPACE/events)."),
]
THEN = [
    click.option("--then", "then", metavar="TASKS",
                 help="After the batch commits, on exactly its documents: render:pdf, render:ubl, export:FORMAT, send "
                      "(comma separated, in order); each recorded in the ledger, a failed one retried by the next "
                      "--then (exit status 4 when one fails; docs/production.md)."),
]
SELECTION = [
    click.option("--contract", "contracts", multiple=True, help="Only this contract (repeatable)."),
    click.option("--customer", "customers", multiple=True, help="Only this customer's contracts (repeatable)."),
]
WINDOW = [
    click.option("--from", "first_day", required=True, callback=parse_date,
                 help="Bill the periods whose last day is on or after this date (YYYY-MM-DD)."),
    click.option("--to", "stop_day", required=True, callback=parse_date,
                 help="... and before this date: --from 2026-10-01 --to 2026-11-01 bills periods closing in October."),
    *SELECTION,
    click.option("--dedup-window-days", default=34, show_default=True, type=click.IntRange(0, 3660),
                 help="How many days before the window earlier copies of an event are looked for."),
    *LIMITS,
    *EVENTS,
]
LEDGER = [
    click.option("--ledger", type=click.Path(path_type=Path),
                 help="The ledger file (default WORKSPACE/ledger.duckdb; created on first issue)."),
    click.option("--wait", type=click.FloatRange(0), default=600, show_default=True,
                 help="Seconds to wait while another usagebill process holds the ledger (0: fail at once)."),
]
OUTPUT = [
    click.option("--quiet", "-q", is_flag=True,
                 help="Print nothing but errors and warnings (for cron; the exit status tells the outcome)."),
    click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                 help="json: the summary as one JSON document on stdout (for scripts)."),
]


