"""`usagebill send`: email issued documents to the customers (Month end), and the `--then` tasks' lines.

Same conventions as the other commands: a BillingError is one red line and exit 1. A run that could
not send everything it should (a refused recipient, a server failure mid-batch) exits 1 after its
summary, naming what stayed unsent; a customer without email is a warning (exit 0): its documents
stay unsent until it has an address.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from .common import LEDGER, OUTPUT, count, options, parse_date, say


def report(done, what: str) -> None:  # noqa: ANN001 - pipeline.month_end.send.SendResult
    """The summary lines of a send (the command's, and the `send` task's)."""
    click.echo(f"{what}: {count(len(done.sent), 'document')} sent, {len(done.already)} already sent, "
               f"{len(done.no_email)} without email, {len(done.failed) + len(done.unsent)} not sent")
    for s in done.sent:
        click.echo(f"  {s.number} -> {', '.join(s.to)}: {', '.join(s.attachments)}")
    warn(done)


def warn(done) -> None:  # noqa: ANN001 - pipeline.month_end.send.SendResult
    """What was not sent and why, on stderr (never silently)."""
    for number, customer_id in done.no_email:
        click.echo(f"warning: [no_email] {number}: customer {customer_id} has no email in customers; "
                   "not sent (add its billing address, then send again)", err=True)
    for note in done.notes:
        click.echo(f"warning: {note}", err=True)
    for number, reason in done.failed:
        click.echo(f"not sent: {number}: {reason}", err=True)
    if done.unsent:
        click.echo(f"not sent: {', '.join(done.unsent)} (not tried after the failure)", err=True)


@click.command("send")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--from", "first_day", callback=parse_date, help="Documents issued on or after this date.")
@click.option("--to", "stop_day", callback=parse_date, help="... and before this date.")
@click.option("--invoice", "numbers", multiple=True, help="Only this invoice or credit note number (repeatable).")
@click.option("--resend", is_flag=True, help="Send again documents that were sent already (recorded again).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and record nothing.")
@options(LEDGER, OUTPUT)
def send_command(workspace: Path, first_day: dt.date | None, stop_day: dt.date | None, numbers: tuple[str, ...],
                 resend: bool, dry_run: bool, ledger: Path | None, wait: float, quiet: bool,
                 output_format: str) -> None:
    """Email each issued invoice and credit note (PDF, and UBL where the customer wants it) to its customer, once.

    SMTP server: USAGEBILL_SMTP_URL (smtp://HOST:PORT, smtp+starttls://USER:PASS@HOST:PORT or
    smtps://...); From: pricebook.yaml company email; To: the customer's email; subject and body
    from WORKSPACE/email_template.txt. Every message the server accepts is recorded in the ledger
    with its Message-ID, so a rerun sends nothing new (--resend sends again). A failure leaves the
    rest unsent, reported, for the next run (exit 1).

    Example: usagebill send ws/ --from 2026-11-01 --to 2026-12-01
    """
    from ..core.errors import BillingError
    from ..month_end.send import send_documents

    if not numbers and not (first_day and stop_day):
        raise click.UsageError("pass --from and --to (documents issued in that window) or --invoice NUMBER")
    if first_day and stop_day and stop_day <= first_day:
        raise BillingError(f"--to {stop_day} must be after --from {first_day}")
    done = send_documents(workspace, first=first_day, stop=stop_day, numbers=numbers, resend=resend,
                          dry_run=dry_run, ledger=ledger, wait=wait)
    if dry_run:
        doc = {"command": "send", "dry_run": True, "would_send": [
            {"number": m.number, "to": m.to, "subject": m.subject, "attachments": [a[0] for a in m.attachments]}
            for m in done.planned], **done.summary()}

        def text() -> None:
            click.echo(f"send --dry-run: {count(len(done.planned), 'document')} would be sent, "
                       f"{len(done.already)} already sent, {len(done.no_email)} without email")
            for m in done.planned:
                files = ", ".join(a[0] for a in m.attachments)
                click.echo(f"  {m.number} -> {', '.join(m.to)}: {m.subject!r} ({files})")
        say(quiet, output_format, doc, text)
        if quiet or output_format == "json":
            warn(done)
        return
    say(quiet, output_format, {"command": "send", **done.summary()}, lambda: report(done, "send"))
    if quiet or output_format == "json":
        warn(done)
    if not done.ok:
        click.secho(f"error: {done.failure or 'some documents were not sent'}", fg="red", err=True)
        sys.exit(1)


def then_tasks(workspace: Path, tasks: tuple[str, ...], run_seq: int | None, ledger: Path | None, wait: float,
               quiet: bool = False):  # noqa: ANN201 - pipeline.month_end.tasks.TasksDone
    """Run a batch's --then tasks (and earlier batches' that are not done), one line each; a failed one is
    an `error:` line on stderr whatever the output options (the caller exits 4)."""
    from ..month_end.tasks import run_after

    done = run_after(workspace, tasks, run_seq, ledger=ledger, wait=wait)
    for r in done.runs:
        again = f", attempt {r.attempt}" if r.attempt > 1 else ""
        if r.ok:
            if not quiet:
                click.echo(f"then {r.task} (ledger run {r.run_seq}{again}): {r.detail}")
            if r.task == "send" and r.result is not None:
                warn(r.result)
        else:
            if r.task == "send" and r.result is not None:
                warn(r.result)
            click.secho(f"error: then {r.task} (ledger run {r.run_seq}{again}) failed: {r.detail}; it is retried by "
                        f"the next --then {r.task}", fg="red", err=True)
    return done
