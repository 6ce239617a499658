"""usagebill command line (click)."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from .errors import BillingError


def _date(ctx, param, value):  # noqa: ANN001 - click callback
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD") from None


@click.group()
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """usagebill: batch rating and invoicing for usage-based billing."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--from", "first_day", required=True, callback=_date, help="First closing day billed (YYYY-MM-DD).")
@click.option("--to", "stop_day", required=True, callback=_date, help="Day after the last closing day billed.")
@click.option("--contract", "contracts", multiple=True, help="Bill only this contract (repeatable).")
@click.option("--customer", "customers", multiple=True, help="Bill only this customer's contracts (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default WORKSPACE/out/<run_id>).")
@click.option("--dedup-window-days", default=34, show_default=True, type=click.IntRange(0, 3660),
              help="How far before the window duplicates are looked for.")
@click.option("--threads", type=click.IntRange(1, 256), help="DuckDB threads (default: all cores).")
@click.option("--memory-limit", help="DuckDB memory limit, e.g. 4GB.")
def run(workspace: Path, first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...],
        customers: tuple[str, ...], out: Path | None, dedup_window_days: int, threads: int | None,
        memory_limit: str | None) -> None:
    """Rate WORKSPACE and write draft invoices for the periods closing in [--from, --to)."""
    from .run import RunArgs, bill, write_outputs

    if stop_day <= first_day:
        raise BillingError(f"--to {stop_day} must be after --from {first_day}")
    args = RunArgs(first_day, stop_day, tuple(contracts), tuple(customers), dedup_window_days)
    result = bill(workspace, args, threads=threads, memory_limit=memory_limit)
    target = out or workspace / "out" / result.run_id
    write_outputs(result, target)
    click.echo(f"run {result.run_id}: {result.invoices.num_rows} invoices, {result.counts['read']} events read "
               f"({result.counts['billed']} billed, {result.quarantine.num_rows} quarantined) -> {target}")


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BillingError as exc:
        if debug:
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
