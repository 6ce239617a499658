"""Ledger commands: issue, nightly, reconcile, invoices, credit-notes, check-ledger.

(A BillingError is one red line and exit 1). reconcile exits 3 when the window differs from what was issued.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from .common import EVENTS, LEDGER, LIMITS, OUTPUT, SELECTION, THEN, WINDOW, options, parse_date, progress, run_args
from .summaries import count, issued_doc, issued_summary, reconcile_summary, say

issue_date_option = click.option(
    "--issue-date", callback=parse_date,
    help="Date of the credit notes and adjustment invoices this command makes (default: today).")


@click.command("issue")
@click.argument("workspace", type=click.Path(path_type=Path))
@options(WINDOW)
@click.option("--allow-open", is_flag=True, help="Issue periods that have not ended yet (usage so far, final).")
@click.option("--reissue", is_flag=True,
              help="Cancel periods that are already issued with a credit note and issue them again, newly numbered.")
@issue_date_option
@options(LEDGER)
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/issue-<run_id>); written after the ledger commit.")
@options(THEN, OUTPUT)
def issue_command(workspace: Path, first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...],
                  customers: tuple[str, ...], dedup_window_days: int, threads: int | None, memory_limit: str | None,
                  events: str | None, allow_open: bool, reissue: bool, issue_date: dt.date | None,
                  ledger: Path | None, wait: float, out: Path | None, then: str | None, quiet: bool,
                  output_format: str) -> None:
    """Rate WORKSPACE like `run` and issue the invoices of the periods closing in [--from, --to).

    Invoices get numbers {invoice_prefix}-{n}, gapless, in order of period_end then contract_id,
    and are recorded in the ledger in one transaction. A period already issued is skipped (the
    duplicate-invoice check), unless --reissue: then a credit note ({invoice_prefix}-CN-{n})
    cancels its invoice and a new invoice is issued.

    Example: usagebill issue ws/ --from 2026-10-01 --to 2026-11-01
    """
    from ..ledger.issue import issue
    from ..month_end.tasks import parse_tasks

    args = run_args(first_day, stop_day, contracts, customers, dedup_window_days, events)
    tasks = parse_tasks(then)  # a bad --then stops before anything is issued
    with progress(quiet) as report:
        outcome = issue(workspace, args, ledger=ledger, reissue=reissue, issue_date=issue_date, out=out, wait=wait,
                        threads=threads, memory_limit=memory_limit, allow_open=allow_open, tasks=tasks,
                        progress=report)
    _say_then(quiet, output_format, outcome, lambda: issued_summary(outcome, f"issue {first_day} to {stop_day}"),
              workspace, tasks, ledger, wait)


@click.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of",
              help="Issue every period closed by this instant: a date (its midnight UTC) or an ISO timestamp with "
                   "zone, 2026-11-01T02:15:00+00:00 (default: now).")
@click.option("--grace", help="Wait this long after a period ends before issuing it: 0, 30m, 6h, 2d "
                              "(default: 1h with the clock, 0 with --as-of).")
@click.option("--allow-future", is_flag=True, help="Accept an --as-of after the clock (a test ledger).")
@options(SELECTION)
@click.option("--dedup-window-days", type=click.IntRange(0, 3660),
              help="How many days before the window earlier copies of an event are looked for (default 34).")
@options(LIMITS, EVENTS)
@options(LEDGER)
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/nightly-<run_id>); written only when something is issued.")
@options(THEN, OUTPUT)
def nightly(workspace: Path, as_of: str | None, grace: str | None, allow_future: bool, contracts: tuple[str, ...],
            customers: tuple[str, ...], dedup_window_days: int | None, threads: int | None,
            memory_limit: str | None, events: str | None, ledger: Path | None, wait: float, out: Path | None,
            then: str | None, quiet: bool, output_format: str) -> None:
    """Issue the next uninvoiced cycles of every contract: each period closed by --as-of, since the contract's start.

    A period is closed when its end (local midnight of period_end in the customer's time zone) plus
    --grace is at or before --as-of. Missed nights catch up; a second run the same night issues
    nothing; periods before a contract's billed_through (migration) are never issued. For cron:

    \b
    15 2 * * * cd /srv/billing && usagebill nightly ws
    """
    from ..ledger.closing import parse_as_of, parse_grace, refuse_future
    from ..ledger.issue import nightly as run_nightly
    from ..month_end.tasks import parse_tasks

    tasks = parse_tasks(then)
    instant, given = parse_as_of(as_of)
    refuse_future(instant, allow_future)
    with progress(quiet) as report:
        outcome = run_nightly(workspace, instant, grace=parse_grace(grace, given), contracts=contracts,
                              customers=customers, ledger=ledger, out=out, wait=wait,
                              dedup_window_days=dedup_window_days, threads=threads, memory_limit=memory_limit,
                              events=events, tasks=tasks, progress=report)
    _say_then(quiet, output_format, outcome, lambda: issued_summary(outcome, f"nightly as of {instant.isoformat()}"),
              workspace, tasks, ledger, wait)


def _say_then(quiet: bool, output_format: str, outcome, text, workspace: Path,  # an Outcome, a callable
              tasks: tuple[str, ...], ledger: Path | None, wait: float) -> None:
    """The batch's summary, then its --then tasks (pipeline/month_end/tasks.py; with --format json inside the
    summary); exit status 4 when a task failed."""
    from .month_end import then_tasks

    doc = issued_doc(outcome)
    if output_format == "json" and tasks:
        done = then_tasks(workspace, tasks, outcome.run_seq, ledger, wait, quiet=True)
        doc["tasks"] = [r.as_dict() for r in done.runs]
        say(quiet, output_format, doc, text)
    else:
        say(quiet, output_format, doc, text)
        done = then_tasks(workspace, tasks, outcome.run_seq, ledger, wait, quiet=quiet) if tasks else None
    if done is not None and not done.ok:
        sys.exit(4)


@click.command("reconcile")
@click.argument("workspace", type=click.Path(path_type=Path))
@options(WINDOW)
@click.option("--adjust", is_flag=True,
              help="Bill the differences: adjustment invoices, credit notes, missing invoices (numbered as usual).")
@issue_date_option
@options(LEDGER)
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/reconcile-<run_id>).")
@options(OUTPUT)
def reconcile_command(workspace: Path, first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...],
                      customers: tuple[str, ...], dedup_window_days: int, threads: int | None,
                      memory_limit: str | None, events: str | None, adjust: bool, issue_date: dt.date | None,
                      ledger: Path | None,
                      wait: float, out: Path | None, quiet: bool, output_format: str) -> None:
    """Re-rate the periods closing in [--from, --to) and compare them with what the ledger issued.

    Writes reconciliation.csv and .parquet: one row per invoice line whose quantity or amount
    differs (late events show up here), and the lines of periods that should be billed but are
    not issued, or are issued but no longer billed. Exit status 0 when nothing differs, 3 when
    something does. With --adjust the differences are billed and the exit status is 0.

    Example: usagebill reconcile ws/ --from 2026-10-01 --to 2026-11-01
    """
    from ..ledger.reconcile import reconcile

    args = run_args(first_day, stop_day, contracts, customers, dedup_window_days, events)
    with progress(quiet) as report:
        done = reconcile(workspace, args, ledger=ledger, do_adjust=adjust, issue_date=issue_date, out=out,
                         wait=wait, threads=threads, memory_limit=memory_limit, progress=report)
    kinds = {k: sum(d.difference == k for d in done.differences) for k in ("changed", "not_issued", "not_billable")}
    doc = {"command": "reconcile", "periods_compared": done.compared, "differ": len(done.differences), **kinds,
           "lines": done.table.num_rows, "adjusted": issued_doc(done.outcome) if adjust else None,
           "out": str(done.outcome.out), "warnings": done.outcome.manifest.get("warnings", [])}
    say(quiet, output_format, doc, lambda: reconcile_summary(done, f"reconcile {first_day} to {stop_day}"))
    if done.differs and not adjust:
        sys.exit(3)


LISTING = [
    click.option("--contract", "contracts", multiple=True, help="Only this contract (repeatable)."),
    click.option("--customer", "customers", multiple=True, help="Only this customer (repeatable)."),
    click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True),
]


@click.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--status", type=click.Choice(["issued", "credited"]), help="Only invoices in this status.")
@options(LISTING, LEDGER)
def invoices(workspace: Path, status: str | None, contracts: tuple[str, ...], customers: tuple[str, ...], fmt: str,
             ledger: Path | None, wait: float) -> None:
    """List the invoices in the ledger, in number order (invoices and adjustment invoices).

    Example: usagebill invoices ws/ --status issued --format csv > invoices.csv
    """
    _list(workspace, "invoices", status, contracts, customers, fmt, ledger, wait)


@click.command("credit-notes")
@click.argument("workspace", type=click.Path(path_type=Path))
@options(LISTING, LEDGER)
def credit_notes(workspace: Path, contracts: tuple[str, ...], customers: tuple[str, ...], fmt: str,
                 ledger: Path | None, wait: float) -> None:
    """List the credit notes in the ledger, in number order.

    Example: usagebill credit-notes ws/ --format json
    """
    _list(workspace, "credit_notes", None, contracts, customers, fmt, ledger, wait)


def _list(workspace: Path, what: str, status: str | None, contracts: tuple[str, ...], customers: tuple[str, ...],
          fmt: str, ledger: Path | None, wait: float) -> None:
    from ..ledger.export import listing, write_listing
    from ..ledger.store import ledger_path, open_ledger

    out = click.get_binary_stream("stdout")
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:  # read while open
        write_listing(listing(led, what, status=status, contracts=contracts, customers=customers), fmt, out)
    out.flush()  # batch by batch: millions of rows are never one table or one string


@click.command("check-ledger")
@click.argument("workspace", type=click.Path(path_type=Path))
@options(LEDGER)
def check_ledger(workspace: Path, ledger: Path | None, wait: float) -> None:
    """Check the ledger's integrity: gapless numbers, documents adding up, one live invoice per period.

    Example: usagebill check-ledger ws/
    """
    from ..core.errors import CheckError
    from ..ledger.check import problems
    from ..ledger.store import ledger_path, open_ledger

    path = ledger_path(workspace, ledger)
    if not path.exists():
        click.echo(f"no ledger at {path} yet: nothing has been issued")
        return
    with open_ledger(path, write=False, wait=wait) as led:
        found = problems(led)
        counts = led.sequences()
        runs = led.last_run_seq()
    if found:
        raise CheckError(f"ledger {path}: {len(found)} problems:\n" + "\n".join(f"  - {p}" for p in found))
    click.echo(f"ledger ok: {count(counts['invoice'], 'invoice')}, {count(counts['credit_note'], 'credit note')}, "
               f"{count(runs, 'run')} ({path})")


COMMANDS = (issue_command, nightly, reconcile_command, invoices, credit_notes, check_ledger)
