"""Analysis commands: report, explain, terms."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .common import EVENTS, LEDGER, check_window, options, parse_date


@click.command("report")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--compare", type=click.Path(path_type=Path),
              help="Another output folder to compare with (default: the latest earlier run of the same window "
                   "beside OUT_DIR).")
def report_command(out_dir: Path, compare: Path | None) -> None:
    """Write OUT_DIR/report.html again from the files of a run's output folder.

    One self-contained page (charts inline, no network needed): totals by currency, plan and
    charge, top customers, daily usage per metric, quarantine with sample rows, the largest
    invoices, and what changed since an earlier run of the same window. `run` writes it too.

    Example: usagebill report ws/out/5bf2a887c38d627d --compare ws/out/0e1d2c3b4a596877
    """
    from ..billing.report import rerender

    click.echo(f"report: {rerender(out_dir, compare)}")


@click.command("explain")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--invoice", "key", required=True, metavar="ID_OR_NUMBER",
              help="An issued number (INV-7) or an invoice_id (in_..., from invoices.csv).")
@click.option("--line", "line_number", type=click.IntRange(1), help="Explain only this line (line_number).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@options(LEDGER, EVENTS)
def explain_command(workspace: Path, key: str, line_number: int | None, fmt: str, ledger: Path | None,
                    wait: float, events: str | None) -> None:
    """Explain how an invoice's lines came about: metric, events counted, quantity, pricing, rounding, tax.

    The period is re-rated from the workspace's current inputs; an issued invoice that differs
    from that re-rating is flagged (see `usagebill reconcile`).

    Example: usagebill explain ws/ --invoice INV-7 --line 2
    """
    from ..analysis.explain import explain
    from ..analysis.explain_text import to_json, to_text

    doc = explain(workspace, key, line_number, ledger=ledger, wait=wait, events=events)
    click.echo(to_json(doc) if fmt == "json" else to_text(doc), nl=False)


@click.command("terms")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--contract", "contract_id", required=True, help="The contract whose terms are shown.")
@click.option("--from", "first_day", callback=parse_date,
              help="Show the terms in force from this day (default: start).")
@click.option("--to", "stop_day", callback=parse_date, help="... up to this day, exclusive (default: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def terms_command(workspace: Path, contract_id: str, first_day: dt.date | None, stop_day: dt.date | None,
                  fmt: str) -> None:
    """Show a contract's terms over time: one block per change (plan versions, contract_terms.yaml),
    with the charges and prices in force, discount, commitment and the one-time charges.

    Example: usagebill terms ws/ --contract acme-1 --from 2026-01-01 --to 2027-01-01
    """
    from ..analysis.explain_text import to_json
    from ..analysis.terms_timeline import timeline, to_text

    check_window(first_day, stop_day)
    doc = timeline(workspace, contract_id, first_day, stop_day)
    click.echo(to_json(doc) if fmt == "json" else to_text(doc), nl=False)


COMMANDS = (report_command, explain_command, terms_command)
