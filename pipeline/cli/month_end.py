"""Month-end commands: export, render, send, payments, credits, ar; and the lines of `--then` tasks.

send: a run that could not send everything it should (a refused recipient, a server failure
mid-batch) exits 1 after its summary, naming what stayed unsent; a customer without email is a
warning (exit 0): its documents stay unsent until it has an address.

credits (docs/credits.md): `credits WS` lists what is left; `credits import`, `apply`, `refund`.
"""
from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from .common import LEDGER, OUTPUT, check_window, options, parse_date
from .summaries import allocation_lines, count, export_summary, money_text, say, send_summary, send_warnings


@click.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--run", "run_seq", type=click.IntRange(1),
              help="Write again the documents and manifest of this ledger run (see the runs table).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xero", "quickbooks", "netsuite"]),
              help="Export the issued invoices and credit notes for accounting in this layout.")
@click.option("--from", "first_day", callback=parse_date, help="With --format: documents issued on or after this date.")
@click.option("--to", "stop_day", callback=parse_date, help="With --format: ... and before this date.")
@click.option("--pending", is_flag=True,
              help="With --format: every document not yet exported in that format, recorded in the ledger "
                   "(docs/month-end-exports.md).")
@click.option("--list", "list_exports", is_flag=True, help="List the exports recorded by --pending.")
@click.option("--id", "export_id", type=click.IntRange(1),
              help="Write again the documents of recorded export N, in its format (see --list).")
@options(LEDGER)
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/ledger-run-<N>, WORKSPACE/out/export-<format>[-<from>-<to>], "
                   "or for --pending and --id WORKSPACE/out/export-<format>-<export id>).")
def export(workspace: Path, run_seq: int | None, fmt: str | None, first_day: dt.date | None,
           stop_day: dt.date | None, pending: bool, list_exports: bool, export_id: int | None, ledger: Path | None,
           wait: float, out: Path | None) -> None:
    """Write ledger documents to files: one batch again (--run N), a window for accounting (--format F),
    what accounting has not received yet (--format F --pending), or a recorded export again (--id N).

    --run N: invoices, invoice_lines, credit_notes, credit_note_lines (Parquet and CSV) and
    manifest.json, the files batch N wrote, byte for byte, except that statuses are today's (an
    invoice credited since shows `credited`). usage, quarantine and a reconciliation come from
    rating and are not kept in the ledger.

    --format F: every invoice and credit note issued in [--from, --to) (default: all), in our long
    CSV (csv) or the import layout of Xero, QuickBooks Online or NetSuite, mapped with
    WORKSPACE/accounting.yaml (accounts, items, tax codes, date format; see docs/month-end.md).

    --format F --pending: every invoice and credit note no export of format F has recorded yet;
    the export (files with their sha256, documents) is recorded in the ledger once the files are
    published. Nothing pending: nothing is written (exit 0). --list shows the recorded exports;
    --id N writes export N's documents again, with the statuses they had then.

    \b
    Examples: usagebill export ws/ --run 3 --out out/run-3
              usagebill export ws/ --format xero --from 2026-10-01 --to 2026-11-01 --out out/xero-october
              usagebill export ws/ --format xero --pending
              usagebill export ws/ --list
              usagebill export ws/ --id 4 --out out/xero-again
    """
    from ..ledger.store import ledger_path, open_ledger

    if (list_exports or export_id is not None) and fmt is not None:
        raise click.UsageError("--list and --id take no --format (an export keeps its own)")
    modes = [run_seq is not None, fmt is not None and not pending, pending, list_exports, export_id is not None]
    if sum(modes) != 1:
        raise click.UsageError("pass either --run N (a batch's documents again), --format F (for accounting), "
                               "--format F --pending, --list or --id N")
    if (first_day or stop_day) and not (fmt and not pending):
        raise click.UsageError("--from and --to go with --format alone, not with --run, --pending, --list or --id")
    if pending and fmt is None:
        raise click.UsageError("--pending needs --format F: documents are pending per format")
    if run_seq is not None:
        from ..ledger.export import export_run

        with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
            target = export_run(led, run_seq, out, workspace)
        click.echo(f"outputs: {target}")
        return
    if list_exports:
        _list_exports(workspace, ledger, wait)
        return
    from ..month_end.accounting.export import export_again, export_documents, export_pending

    if pending:
        done = export_pending(workspace, fmt, out=out, ledger=ledger, wait=wait)
        if done is None:
            click.echo(f"export {fmt} --pending: nothing to export (every document is already in an export of {fmt})")
            return
        export_summary(done, f"export {fmt} {done.manifest['export_id']}")
        return
    if export_id is not None:
        done, record, differ = export_again(workspace, export_id, out=out, ledger=ledger, wait=wait)
        export_summary(done, f"export {record['format']} {export_id} again")
        if differ:
            click.echo(f"warning: {', '.join(differ)} differ from export {export_id}'s recorded sha256 "
                       "(the workspace's customers, company or accounting.yaml changed since?)", err=True)
        else:
            click.echo(f"identical to export {export_id} (sha256 of every file as recorded)")
        return
    check_window(first_day, stop_day)
    done = export_documents(workspace, fmt, first=first_day, stop=stop_day, out=out, ledger=ledger, wait=wait)
    export_summary(done, f"export {fmt}")


def _list_exports(workspace: Path, ledger: Path | None, wait: float) -> None:
    from ..month_end.accounting.export import list_exports

    found = list_exports(workspace, ledger=ledger, wait=wait)
    if not found:
        click.echo("no exports recorded yet (usagebill export WORKSPACE --format F --pending records one)")
        return
    rows = [["id", "format", "created_at", "documents", "files", "folder"]]
    rows += [[str(r["export_id"]), r["format"],
              r["created_at"].astimezone(dt.UTC).isoformat(timespec="seconds"), str(r["documents"]),
              " ".join(f["name"] for f in r["files"]), r["folder"]] for r in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.rjust(w) if i in (0, 3) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                   .rstrip())


@click.command("render")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["pdf", "ubl"]), required=True,
              help="pdf: for people; ubl: UBL 2.1 e-invoices (EN 16931), validated before they are written.")
@click.option("--invoice", "numbers", multiple=True, help="Only this invoice or credit note number (repeatable).")
@click.option("--from", "first_day", callback=parse_date, help="Documents issued on or after this date.")
@click.option("--to", "stop_day", callback=parse_date, help="... and before this date.")
@options(LEDGER)
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/render-<format>-<from>-<to>, one per window).")
def render(workspace: Path, fmt: str, numbers: tuple[str, ...], first_day: dt.date | None, stop_day: dt.date | None,
           ledger: Path | None, wait: float, out: Path | None) -> None:
    """Write one PDF or UBL file per issued invoice and credit note, named by its number.

    UBL files are checked against the UBL 2.1 XSD and the EN 16931 schematron first; a failure
    names the document and the rule (e.g. BR-CO-16) and nothing is written.

    \b
    Examples: usagebill render ws/ --format pdf --from 2026-11-01 --to 2026-12-01 --out out/pdf
              usagebill render ws/ --format ubl --invoice HC-12 --out out/ubl
    """
    from ..month_end.documents.render import render_documents
    check_window(first_day, stop_day)
    done = render_documents(workspace, fmt, numbers=numbers, first=first_day, stop=stop_day, out=out, ledger=ledger,
                            wait=wait)
    what = "valid EN 16931 UBL files" if fmt == "ubl" else "PDFs"
    click.echo(f"render {fmt}: {len(done.files)} {what} in {done.seconds:.1f} s")
    for skipped in done.not_rendered:
        click.echo(f"not rendered: {skipped['number']} ({skipped['currency']}): {skipped['reason']}", err=True)
    click.echo(f"outputs: {done.out}")


@click.group()
def payments() -> None:
    """Payments received: import them and allocate them to issued invoices."""


@payments.command("import")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.argument("file", type=click.Path(path_type=Path))
@options(LEDGER)
def payments_import(workspace: Path, file: Path, ledger: Path | None, wait: float) -> None:
    """Import FILE (payment_id,customer_id,received_date,amount,currency[,invoice_number]) and allocate it.

    Each payment goes to the invoice it names, then to the customer's oldest open invoices of its
    currency; what is left is the customer's credit. A payment_id already imported is skipped.
    Any bad line (unknown customer, another currency, unknown invoice, a malformed cell) stops the
    import, naming file, line and column: nothing is written.

    Example: usagebill payments import ws/ bank/2026-11.csv
    """
    from ..core.money import currency_digits, format_money
    from ..month_end.payments.importer import import_payments

    done = import_payments(workspace, file, ledger=ledger, wait=wait)
    invoices = {a[1] for a in done.allocations}
    click.echo(f"payments import {file.name}: {count(len(done.payments), 'new payment')}, "
               f"{len(done.skipped)} already imported; {count(len(done.allocations), 'allocation')} to "
               f"{count(len(invoices), 'invoice')}" + (f"; import {done.import_seq}" if done.import_seq else ""))
    amounts = {p.payment_id: p for p in done.payments}
    for pid, number, amount in done.allocations:
        p = amounts[pid]
        click.echo(f"  {pid} -> {number}: {format_money(amount, currency_digits(p.currency) or 0)} {p.currency}")
    for (customer, currency), amount in sorted(done.credit.items()):
        click.echo(f"  credit {customer}: {format_money(amount, currency_digits(currency) or 0)} {currency} "
                   "(not allocated)")


@click.command("ar")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", required=True, callback=parse_date, help="The day the balances are taken on.")
@click.option("--customer", "customers", multiple=True, help="Only this customer (repeatable).")
@click.option("--invoices", "per_invoice", is_flag=True,
              help="One row per invoice document (total, credited, paid, balance, status, days past due) instead.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@options(LEDGER)
def ar(workspace: Path, as_of: dt.date, customers: tuple[str, ...], per_invoice: bool, fmt: str,
       ledger: Path | None, wait: float) -> None:
    """Accounts receivable at --as-of: open balance per customer in aging buckets.

    Buckets by days past due (as-of minus due date): current, 1-30, 31-60, 61-90, 90+; then open,
    credit (payments not allocated) and balance, per customer and currency.

    Example: usagebill ar ws/ --as-of 2026-12-31 --format csv > ar.csv
    """
    from ..month_end.payments.aging import aging_tables, write

    summary, invoices = aging_tables(workspace, as_of, ledger=ledger, wait=wait, customers=customers)
    out = click.get_binary_stream("stdout")
    write(invoices if per_invoice else summary, fmt, out)  # slice by slice: millions of rows are never one string
    out.flush()


# credits -------------------------------------------------------------------------------------------------------
class CreditsGroup(click.Group):
    """A group that is also a command: `credits WS ...` (anything but a subcommand's name) lists balances."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=CreditsGroup)
def credits() -> None:
    """Prepaid credit: grants, and customer credit (overpayments), drawn down on invoices.

    An invoice issued by issue, nightly or reconcile --adjust draws its amount due from the
    customer's grants in effect on its issue date, then from the customer's credit, in the same
    transaction. `credits WS` shows what is left; `credits import`, `apply`, `refund` change it.

    Example: usagebill credits ws/ --customer umbrella --as-of 2026-12-31
    """


@credits.command("show")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--customer", "customers", multiple=True, help="Only this customer (repeatable).")
@click.option("--as-of", "as_of", callback=parse_date, help="The day the balances are taken on (default: today).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@options(LEDGER)
def show(workspace: Path, customers: tuple[str, ...], as_of: dt.date | None, fmt: str, ledger: Path | None,
         wait: float) -> None:
    """Per grant: granted, used, expired, remaining; per customer: its credit balance (also `credits WS`).

    Example: usagebill credits show ws/ --as-of 2026-12-31 --format json
    """
    from ..ledger.credit_report import balances_as_of, render

    day = as_of or dt.date.today()
    grants, customer_rows = balances_as_of(workspace, day, customers=customers, ledger=ledger, wait=wait)
    click.echo(render(grants, customer_rows, fmt, day), nl=False)


@credits.command("import")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.argument("file", type=click.Path(path_type=Path))
@options(LEDGER)
def import_command(workspace: Path, file: Path, ledger: Path | None, wait: float) -> None:
    """Import grants: FILE has grant_id,customer_id,currency,amount,effective_date and optional columns.

    The optional columns: expiry_date, priority, description.

    A grant_id already imported is skipped; the same id with other values, an unknown customer, a
    currency the customer is not billed in or a malformed cell stops the import, naming file, line
    and column: nothing is written. Lower priority is drawn first (default 100).

    Example: usagebill credits import ws/ grants/2026.csv
    """
    from ..ledger.credit_grants import import_grants

    done = import_grants(workspace, file, ledger=ledger, wait=wait)
    click.echo(f"credits import {file.name}: {count(len(done.grants), 'new grant')}, {len(done.skipped)} already "
               "imported" + (f"; import {done.import_seq}" if done.import_seq else ""))
    for g in done.grants:
        until = f" to {g.expiry_date - dt.timedelta(days=1)}" if g.expiry_date else ", no expiry"
        click.echo(f"  {g.grant_id}: {g.customer_id} {money_text(g.amount, g.currency)} from "
                   f"{g.effective_date}{until}, priority {g.priority}")


@credits.command("apply")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--customer", "customers", multiple=True, help="Only this customer's invoices (repeatable).")
@click.option("--date", "on", callback=parse_date, help="The day the credit is applied (default: today).")
@options(LEDGER)
def apply_command(workspace: Path, customers: tuple[str, ...], on: dt.date | None, ledger: Path | None,
                  wait: float) -> None:
    """Apply grants and customer credit to invoices already open, oldest first.

    A grant pays an invoice when it is in effect on the invoice's issue date and on --date; customer
    credit (overpayments, money freed by a credited invoice) after grants. Nothing left to apply:
    nothing is written.

    Example: usagebill credits apply ws/ --customer globex
    """
    from ..ledger.credits import apply_credits

    day = on or dt.date.today()
    done = apply_credits(workspace, day, customers=customers, ledger=ledger, wait=wait)
    if done.apply_seq is None:
        click.echo(f"credits apply {day}: nothing to apply (no open invoice with credit in effect for it)")
        return
    click.echo(f"credits apply {day}: {count(len(done.allocations), 'allocation')}; apply {done.apply_seq}")
    allocation_lines(done.allocations)


def _amount(ctx, param, value):  # click callback
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount; write e.g. 20.00") from None


@credits.command("refund")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--customer", "customer", required=True, help="The customer paid back.")
@click.option("--amount", required=True, callback=_amount, help="How much, at most the customer's credit.")
@click.option("--currency", required=True, help="Its currency (ISO 4217).")
@click.option("--reference", required=True, help="Your reference of the refund (a bank transfer id): recorded once.")
@click.option("--date", "on", callback=parse_date, help="The day it was paid back (default: today).")
@options(LEDGER)
def refund_command(workspace: Path, customer: str, amount: Decimal, currency: str, reference: str,
                   on: dt.date | None, ledger: Path | None, wait: float) -> None:
    """Record customer credit paid back to the customer (never more than the credit).

    Example: usagebill credits refund ws/ --customer globex --amount 20.00 --currency USD --reference TR-881
    """
    from ..ledger.credits import Refund, refund

    r = Refund(reference, customer, currency.upper(), amount, on or dt.date.today())
    if refund(workspace, r, ledger=ledger, wait=wait):
        click.echo(f"credits refund {reference}: {money_text(amount, r.currency)} paid back to {customer} "
                   f"on {r.refund_date}")
    else:
        click.echo(f"credits refund {reference}: already recorded (same values); nothing written")


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
            send_warnings(done)
        return
    say(quiet, output_format, {"command": "send", **done.summary()}, lambda: send_summary(done, "send"))
    if quiet or output_format == "json":
        send_warnings(done)
    if not done.ok:
        click.secho(f"error: {done.failure or 'some documents were not sent'}", fg="red", err=True)
        sys.exit(1)


def then_tasks(workspace: Path, tasks: tuple[str, ...], run_seq: int | None, ledger: Path | None, wait: float,
               quiet: bool = False):  # pipeline.month_end.tasks.TasksDone
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
                send_warnings(r.result)
        else:
            if r.task == "send" and r.result is not None:
                send_warnings(r.result)
            click.secho(f"error: then {r.task} (ledger run {r.run_seq}{again}) failed: {r.detail}; it is retried by "
                        f"the next --then {r.task}", fg="red", err=True)
    return done


COMMANDS = (export, render, send_command, payments, credits, ar)
