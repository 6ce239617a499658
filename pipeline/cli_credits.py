"""`usagebill credits`: prepaid credit grants and customer credit (docs/credits.md).

    usagebill credits WS [--customer ID]... [--as-of D]      what is left, per grant and per customer
    usagebill credits import WS FILE.csv                     grants
    usagebill credits apply WS [--customer ID]... [--date D] credit to invoices already open
    usagebill credits refund WS --customer ID --amount A --currency C --reference R [--date D]

Registered on the `cli` group of pipeline/cli.py; a BillingError is one red line and exit 1.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from .cli import _date, cli
from .cli_ledger import _count, with_ledger


class CreditsGroup(click.Group):
    """A group that is also a command: `credits WS ...` (anything but a subcommand's name) lists balances."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=CreditsGroup)
def credits() -> None:
    """Prepaid credit: grants, and customer credit (overpayments), drawn down on invoices.

    An invoice issued by issue, nightly or reconcile --adjust draws its amount due from the
    customer's grants in effect on its issue date, then from the customer's credit, in the same
    transaction. `credits WS` shows what is left; `credits import`, `apply`, `refund` change it.

    Example: usagebill credits ws/ --customer umbrella --as-of 2026-12-31
    """


def _money(value: Decimal, currency: str) -> str:
    from .money import currency_digits, format_money

    return f"{format_money(value, currency_digits(currency) or 0)} {currency}"


@credits.command("show")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--customer", "customers", multiple=True, help="Only this customer (repeatable).")
@click.option("--as-of", "as_of", callback=_date, help="The day the balances are taken on (default: today).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@with_ledger
def show(workspace: Path, customers: tuple[str, ...], as_of: dt.date | None, fmt: str, ledger: Path | None,
         wait: float) -> None:
    """Per grant: granted, used, expired, remaining; per customer: its credit balance (also `credits WS`).

    Example: usagebill credits show ws/ --as-of 2026-12-31 --format json
    """
    from .ledger.credit_report import balances_as_of, render

    day = as_of or dt.date.today()
    grants, customer_rows = balances_as_of(workspace, day, customers=customers, ledger=ledger, wait=wait)
    click.echo(render(grants, customer_rows, fmt, day), nl=False)


@credits.command("import")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.argument("file", type=click.Path(path_type=Path))
@with_ledger
def import_command(workspace: Path, file: Path, ledger: Path | None, wait: float) -> None:
    """Import grants: FILE has grant_id,customer_id,currency,amount,effective_date and optional columns.

    The optional columns: expiry_date, priority, description.

    A grant_id already imported is skipped; the same id with other values, an unknown customer, a
    currency the customer is not billed in or a malformed cell stops the import, naming file, line
    and column: nothing is written. Lower priority is drawn first (default 100).

    Example: usagebill credits import ws/ grants/2026.csv
    """
    from .ledger.credit_grants import import_grants

    done = import_grants(workspace, file, ledger=ledger, wait=wait)
    click.echo(f"credits import {file.name}: {_count(len(done.grants), 'new grant')}, {len(done.skipped)} already "
               "imported" + (f"; import {done.import_seq}" if done.import_seq else ""))
    for g in done.grants:
        until = f" to {g.expiry_date - dt.timedelta(days=1)}" if g.expiry_date else ", no expiry"
        click.echo(f"  {g.grant_id}: {g.customer_id} {_money(g.amount, g.currency)} from {g.effective_date}{until}, "
                   f"priority {g.priority}")


@credits.command("apply")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--customer", "customers", multiple=True, help="Only this customer's invoices (repeatable).")
@click.option("--date", "on", callback=_date, help="The day the credit is applied (default: today).")
@with_ledger
def apply_command(workspace: Path, customers: tuple[str, ...], on: dt.date | None, ledger: Path | None,
                  wait: float) -> None:
    """Apply grants and customer credit to invoices already open, oldest first.

    A grant pays an invoice when it is in effect on the invoice's issue date and on --date; customer
    credit (overpayments, money freed by a credited invoice) after grants. Nothing left to apply:
    nothing is written.

    Example: usagebill credits apply ws/ --customer globex
    """
    from .ledger.credits import apply_credits

    day = on or dt.date.today()
    done = apply_credits(workspace, day, customers=customers, ledger=ledger, wait=wait)
    if done.apply_seq is None:
        click.echo(f"credits apply {day}: nothing to apply (no open invoice with credit in effect for it)")
        return
    click.echo(f"credits apply {day}: {_count(len(done.allocations), 'allocation')}; apply {done.apply_seq}")
    _allocations(done.allocations)


def _allocations(rows: list[dict]) -> None:
    for a in rows:
        source = f"grant {a['grant_id']}" if a["source"] == "grant" else "customer credit"
        click.echo(f"  {source} -> {a['invoice_number']}: {_money(a['amount'], a['currency'])}")


def _amount(ctx, param, value):  # noqa: ANN001 - click callback
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
@click.option("--date", "on", callback=_date, help="The day it was paid back (default: today).")
@with_ledger
def refund_command(workspace: Path, customer: str, amount: Decimal, currency: str, reference: str,
                   on: dt.date | None, ledger: Path | None, wait: float) -> None:
    """Record customer credit paid back to the customer (never more than the credit).

    Example: usagebill credits refund ws/ --customer globex --amount 20.00 --currency USD --reference TR-881
    """
    from .ledger.credits import Refund, refund

    r = Refund(reference, customer, currency.upper(), amount, on or dt.date.today())
    if refund(workspace, r, ledger=ledger, wait=wait):
        click.echo(f"credits refund {reference}: {_money(amount, r.currency)} paid back to {customer} "
                   f"on {r.refund_date}")
    else:
        click.echo(f"credits refund {reference}: already recorded (same values); nothing written")
