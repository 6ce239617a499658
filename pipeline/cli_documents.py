"""Commands that hand issued documents on: render (PDF, UBL), payments import, ar.

Registered on the `cli` group (imported by pipeline/cli_ledger.py); `export --format` lives with
`export --run` in cli_ledger.py. Same conventions: a BillingError is one red line and exit 1.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .cli import _date, cli
from .cli_ledger import _count, with_ledger


@cli.group()
def payments() -> None:
    """Payments received: import them and allocate them to issued invoices."""


@payments.command("import")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.argument("file", type=click.Path(path_type=Path))
@with_ledger
def payments_import(workspace: Path, file: Path, ledger: Path | None, wait: float) -> None:
    """Import FILE (payment_id,customer_id,received_date,amount,currency[,invoice_number]) and allocate it.

    Each payment goes to the invoice it names, then to the customer's oldest open invoices of its
    currency; what is left is the customer's credit. A payment_id already imported is skipped.
    Any bad line (unknown customer, another currency, unknown invoice, a malformed cell) stops the
    import, naming file, line and column: nothing is written.

    Example: usagebill payments import ws/ bank/2026-11.csv
    """
    from .money import currency_digits, format_money
    from .payments.importer import import_payments

    done = import_payments(workspace, file, ledger=ledger, wait=wait)
    invoices = {a[1] for a in done.allocations}
    click.echo(f"payments import {file.name}: {_count(len(done.payments), 'new payment')}, "
               f"{len(done.skipped)} already imported; {_count(len(done.allocations), 'allocation')} to "
               f"{_count(len(invoices), 'invoice')}" + (f"; import {done.import_seq}" if done.import_seq else ""))
    amounts = {p.payment_id: p for p in done.payments}
    for pid, number, amount in done.allocations:
        p = amounts[pid]
        click.echo(f"  {pid} -> {number}: {format_money(amount, currency_digits(p.currency) or 0)} {p.currency}")
    for (customer, currency), amount in sorted(done.credit.items()):
        click.echo(f"  credit {customer}: {format_money(amount, currency_digits(currency) or 0)} {currency} "
                   "(not allocated)")


@cli.command("ar")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", required=True, callback=_date, help="The day the balances are taken on.")
@click.option("--customer", "customers", multiple=True, help="Only this customer (repeatable).")
@click.option("--invoices", "per_invoice", is_flag=True,
              help="One row per invoice document (total, credited, paid, balance, status, days past due) instead.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@with_ledger
def ar(workspace: Path, as_of: dt.date, customers: tuple[str, ...], per_invoice: bool, fmt: str,
       ledger: Path | None, wait: float) -> None:
    """Accounts receivable at --as-of: open balance per customer in aging buckets.

    Buckets by days past due (as-of minus due date): current, 1-30, 31-60, 61-90, 90+; then open,
    credit (payments not allocated) and balance, per customer and currency.

    Example: usagebill ar ws/ --as-of 2026-12-31 --format csv > ar.csv
    """
    from .payments.aging import COLUMNS, INVOICE_COLUMNS, aging, render

    rows, invoice_rows = aging(workspace, as_of, ledger=ledger, wait=wait, customers=customers)
    if per_invoice:
        click.echo(render(invoice_rows, INVOICE_COLUMNS, fmt), nl=False)
    else:
        click.echo(render(rows, COLUMNS, fmt), nl=False)


@cli.command("render")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["pdf", "ubl"]), required=True,
              help="pdf: for people; ubl: UBL 2.1 e-invoices (EN 16931), validated before they are written.")
@click.option("--invoice", "numbers", multiple=True, help="Only this invoice or credit note number (repeatable).")
@click.option("--from", "first_day", callback=_date, help="Documents issued on or after this date.")
@click.option("--to", "stop_day", callback=_date, help="... and before this date.")
@with_ledger
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default WORKSPACE/out/render-<format>-<from>-<to>, one per window).")
def render(workspace: Path, fmt: str, numbers: tuple[str, ...], first_day: dt.date | None, stop_day: dt.date | None,
           ledger: Path | None, wait: float, out: Path | None) -> None:
    """Write one PDF or UBL file per issued invoice and credit note, named by its number.

    UBL files are checked against the UBL 2.1 XSD and the EN 16931 schematron first; a failure
    names the document and the rule (e.g. BR-CO-16) and nothing is written.

    \b
    Examples: usagebill render ws/ --format pdf --from 2026-11-01 --to 2026-12-01 --out out/pdf
              usagebill render ws/ --format ubl --invoice HC-12 --out out/ubl
    """
    from .documents.render import render_documents
    from .errors import BillingError

    if first_day and stop_day and stop_day <= first_day:
        raise BillingError(f"--to {stop_day} must be after --from {first_day}")
    done = render_documents(workspace, fmt, numbers=numbers, first=first_day, stop=stop_day, out=out, ledger=ledger,
                            wait=wait)
    what = "valid EN 16931 UBL files" if fmt == "ubl" else "PDFs"
    click.echo(f"render {fmt}: {len(done.files)} {what} in {done.seconds:.1f} s")
    for skipped in done.not_rendered:
        click.echo(f"not rendered: {skipped['number']} ({skipped['currency']}): {skipped['reason']}", err=True)
    click.echo(f"outputs: {done.out}")
