"""The ledger's commands: issue, nightly, reconcile, invoices, credit-notes, export, check-ledger.

Registered on the `cli` group of pipeline/cli.py (same conventions: a BillingError is one red
line and exit 1). reconcile exits 3 when the window differs from what was issued.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Callable

import click

from .cli import _date, cli, progress, say, totals_line, with_output, with_window
from .errors import BillingError


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _documents(ledger: dict) -> str:
    """'3 invoices (HC-4 to HC-6), 1 credit note (HC-CN-1)' from a batch manifest's ledger section."""
    parts = []
    for key, word in (("invoices", "invoice"), ("credit_notes", "credit note")):
        d = ledger[key]
        span = "" if not d["count"] else f" ({d['first']})" if d["count"] == 1 else f" ({d['first']} to {d['last']})"
        parts.append(_count(d["count"], word) + span)
    return ", ".join(parts)


ledger_options = [
    click.option("--ledger", type=click.Path(path_type=Path),
                 help="The ledger file (default WORKSPACE/ledger.duckdb; created on first issue)."),
    click.option("--wait", type=click.FloatRange(0), default=600, show_default=True,
                 help="Seconds to wait while another usagebill process holds the ledger (0: fail at once)."),
]


def with_ledger(fn: Callable) -> Callable:
    for option in reversed(ledger_options):
        fn = option(fn)
    return fn


def _window_args(first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...], customers: tuple[str, ...],
                 dedup_window_days: int):  # noqa: ANN202 - pipeline.run.RunArgs, imported lazily
    from .run import RunArgs

    if stop_day <= first_day:
        raise BillingError(f"--to {stop_day} must be after --from {first_day}")
    return RunArgs(first_day, stop_day, tuple(contracts), tuple(customers), dedup_window_days)


issue_date_option = click.option(
    "--issue-date", callback=_date,
    help="Date of the credit notes and adjustment invoices this command makes (default: today).")


@cli.command("issue")
@click.argument("workspace", type=click.Path(path_type=Path))
@with_window
@click.option("--allow-open", is_flag=True, help="Issue periods that have not ended yet (usage so far, final).")
@click.option("--reissue", is_flag=True,
              help="Cancel periods that are already issued with a credit note and issue them again, newly numbered.")
@issue_date_option
@with_ledger
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/issue-<run_id>); written after the ledger commit.")
@with_output
def issue_command(workspace: Path, first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...],
                  customers: tuple[str, ...], dedup_window_days: int, threads: int | None, memory_limit: str | None,
                  allow_open: bool, reissue: bool, issue_date: dt.date | None, ledger: Path | None, wait: float,
                  out: Path | None, quiet: bool, output_format: str) -> None:
    """Rate WORKSPACE like `run` and issue the invoices of the periods closing in [--from, --to).

    Invoices get numbers {invoice_prefix}-{n}, gapless, in order of period_end then contract_id,
    and are recorded in the ledger in one transaction. A period already issued is skipped (the
    duplicate-invoice check), unless --reissue: then a credit note ({invoice_prefix}-CN-{n})
    cancels its invoice and a new invoice is issued.

    Example: usagebill issue ws/ --from 2026-10-01 --to 2026-11-01
    """
    from .issue import issue

    args = _window_args(first_day, stop_day, contracts, customers, dedup_window_days)
    with progress(quiet) as report:
        outcome = issue(workspace, args, ledger=ledger, reissue=reissue, issue_date=issue_date, out=out, wait=wait,
                        threads=threads, memory_limit=memory_limit, allow_open=allow_open, progress=report)
    say(quiet, output_format, _issued_doc(outcome), lambda: _issued_summary(outcome, f"issue {first_day} to {stop_day}"))


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of",
              help="Issue every period closed by this instant: a date (its midnight UTC) or an ISO timestamp with "
                   "zone, 2026-11-01T02:15:00+00:00 (default: now).")
@click.option("--grace", help="Wait this long after a period ends before issuing it: 0, 30m, 6h, 2d "
                              "(default: 1h with the clock, 0 with --as-of).")
@click.option("--allow-future", is_flag=True, help="Accept an --as-of after the clock (a test ledger).")
@click.option("--contract", "contracts", multiple=True, help="Only this contract (repeatable).")
@click.option("--customer", "customers", multiple=True, help="Only this customer's contracts (repeatable).")
@click.option("--dedup-window-days", type=click.IntRange(0, 3660),
              help="How many days before the window earlier copies of an event are looked for (default 34).")
@click.option("--threads", type=click.IntRange(1, 256), help="Worker threads (default: all cores).")
@click.option("--memory-limit", help="Memory limit for the query engine, e.g. 4GB (default: 80% of RAM).")
@with_ledger
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/nightly-<run_id>); written only when something is issued.")
@with_output
def nightly(workspace: Path, as_of: str | None, grace: str | None, allow_future: bool, contracts: tuple[str, ...],
            customers: tuple[str, ...], dedup_window_days: int | None, threads: int | None,
            memory_limit: str | None, ledger: Path | None, wait: float, out: Path | None, quiet: bool,
            output_format: str) -> None:
    """Issue the next uninvoiced cycles of every contract: each period closed by --as-of, since the contract's start.

    A period is closed when its end (local midnight of period_end in the customer's time zone) plus
    --grace is at or before --as-of. Missed nights catch up; a second run the same night issues
    nothing; periods before a contract's billed_through (migration) are never issued. For cron:

    \b
    15 2 * * * cd /srv/billing && usagebill nightly ws
    """
    from .closing import parse_as_of, parse_grace, refuse_future
    from .issue import nightly as run_nightly

    instant, given = parse_as_of(as_of)
    refuse_future(instant, allow_future)
    with progress(quiet) as report:
        outcome = run_nightly(workspace, instant, grace=parse_grace(grace, given), contracts=contracts,
                              customers=customers, ledger=ledger, out=out, wait=wait,
                              dedup_window_days=dedup_window_days, threads=threads, memory_limit=memory_limit,
                              progress=report)
    say(quiet, output_format, _issued_doc(outcome),
        lambda: _issued_summary(outcome, f"nightly as of {instant.isoformat()}"))


def _credits_applied(rows: list[dict]) -> dict[str, dict]:
    """Per currency: invoices that drew prepaid credit at issue and the amount drawn (exact text)."""
    from .money import currency_digits, format_money

    out: dict[str, dict] = {}
    for r in rows:
        s = out.setdefault(r["currency"], {"invoices": set(), "amount": 0})
        s["invoices"].add(r["invoice_number"])
        s["amount"] += r["amount"]
    return {c: {"invoices": len(s["invoices"]), "amount": format_money(s["amount"], currency_digits(c) or 0)}
            for c, s in sorted(out.items())}


def _credits_line(rows: list[dict]) -> None:
    for currency, s in _credits_applied(rows).items():
        click.echo(f"  {currency}: prepaid credit applied {s['amount']} on {_count(s['invoices'], 'invoice')} "
                   "(usagebill credits)")


def _issued_doc(outcome) -> dict:  # noqa: ANN001 - pipeline.issue.Outcome
    """The batch's summary for --format json (nothing issued: ledger_run null, no documents)."""
    m = outcome.manifest
    return {"command": outcome.command, "run_id": outcome.run_id, "ledger_run": outcome.run_seq,
            "out": None if outcome.out is None else str(outcome.out), "ledger": m.get("ledger"),
            "totals": m.get("totals", {}), "credit_note_totals": m.get("credit_note_totals", {}),
            "skipped": [s.as_dict() for s in outcome.skipped], "warnings": m.get("warnings", []),
            "counts": m.get("counts"), "credits_applied": _credits_applied(outcome.credits)}


def _issued_summary(outcome, what: str) -> None:  # noqa: ANN001 - pipeline.issue.Outcome
    skipped = outcome.skipped
    if outcome.run_seq is None:
        reason = (f"{_count(len(skipped), 'period')} already issued skipped" if skipped
                  else "every closed period is issued already" if outcome.command == "nightly"
                  else "no billing period closes in this window")
        click.echo(f"{what}: nothing issued; {reason}")
    else:
        text = _documents(outcome.manifest["ledger"])
        if outcome.command == "issue":
            text += f", {len(skipped)} skipped"
        click.echo(f"{what}: issued {text}; ledger run {outcome.run_seq}")
        for currency, t in outcome.manifest["totals"].items():
            click.echo(totals_line(currency, t["count"], t))
        _credits_line(outcome.credits)
    if skipped:
        click.echo(f"  skipped, already issued{' (use --reissue to issue again)' if outcome.command == 'issue' else ''}:")
        for s in skipped[:20]:
            click.echo(f"    {s.contract_id} {s.period_start} to {s.period_end}: {s.invoice_number}")
        if len(skipped) > 20:
            click.echo(f"    ... and {len(skipped) - 20} more")
    if outcome.out is not None:
        click.echo(f"outputs: {outcome.out}")


@cli.command("reconcile")
@click.argument("workspace", type=click.Path(path_type=Path))
@with_window
@click.option("--adjust", is_flag=True,
              help="Bill the differences: adjustment invoices, credit notes, missing invoices (numbered as usual).")
@issue_date_option
@with_ledger
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default WORKSPACE/out/reconcile-<run_id>).")
@with_output
def reconcile_command(workspace: Path, first_day: dt.date, stop_day: dt.date, contracts: tuple[str, ...],
                      customers: tuple[str, ...], dedup_window_days: int, threads: int | None,
                      memory_limit: str | None, adjust: bool, issue_date: dt.date | None, ledger: Path | None,
                      wait: float, out: Path | None, quiet: bool, output_format: str) -> None:
    """Re-rate the periods closing in [--from, --to) and compare them with what the ledger issued.

    Writes reconciliation.csv and .parquet: one row per invoice line whose quantity or amount
    differs (late events show up here), and the lines of periods that should be billed but are
    not issued, or are issued but no longer billed. Exit status 0 when nothing differs, 3 when
    something does. With --adjust the differences are billed and the exit status is 0.

    Example: usagebill reconcile ws/ --from 2026-10-01 --to 2026-11-01
    """
    from .reconcile import reconcile

    args = _window_args(first_day, stop_day, contracts, customers, dedup_window_days)
    with progress(quiet) as report:
        done = reconcile(workspace, args, ledger=ledger, do_adjust=adjust, issue_date=issue_date, out=out,
                         wait=wait, threads=threads, memory_limit=memory_limit, progress=report)
    kinds = {k: sum(d.difference == k for d in done.differences) for k in ("changed", "not_issued", "not_billable")}
    doc = {"command": "reconcile", "periods_compared": done.compared, "differ": len(done.differences), **kinds,
           "lines": done.table.num_rows, "adjusted": _issued_doc(done.outcome) if adjust else None,
           "out": str(done.outcome.out), "warnings": done.outcome.manifest.get("warnings", [])}
    say(quiet, output_format, doc, lambda: _reconcile_summary(done, f"reconcile {first_day} to {stop_day}"))
    if done.differs and not adjust:
        sys.exit(3)


def _reconcile_summary(done, what: str) -> None:  # noqa: ANN001 - pipeline.reconcile.Reconciled
    from .money import currency_digits, format_money

    kinds = {k: sum(d.difference == k for d in done.differences) for k in ("changed", "not_issued", "not_billable")}
    click.echo(f"{what}: {_count(done.compared, 'period')} compared, {len(done.differences)} differ "
               f"({kinds['changed']} changed, {kinds['not_issued']} not issued, "
               f"{kinds['not_billable']} no longer billable), {_count(done.table.num_rows, 'line')}")
    rows = done.table.to_pylist()
    for r in rows[:30]:
        digits = currency_digits(r["currency"]) or 0
        money = {k: "-" if r[k] is None else format_money(r[k], digits)
                 for k in ("issued_amount", "recomputed_amount")}
        qty = {k: "-" if r[k] is None else f"{r[k].normalize():f}" for k in ("issued_quantity", "recomputed_quantity")}
        line = r["line_type"] + (f" {r['charge_id']}" if r["charge_id"] else "") + \
            (f" [{r['group_key']}]" if r["group_key"] else "")
        change = f"amount {money['issued_amount']} -> {money['recomputed_amount']} " \
                 f"({'+' if r['delta_amount'] >= 0 else ''}{format_money(r['delta_amount'], digits)} {r['currency']})"
        if r["line_type"] != "tax":
            change = f"quantity {qty['issued_quantity']} -> {qty['recomputed_quantity']}, " + change
        click.echo(f"  {r['invoice_number'] or '(not issued)'} {r['contract_id']} {r['period_start']} "
                   f"{r['difference']}: {line}: {change}")
    if len(rows) > 30:
        click.echo(f"  ... and {len(rows) - 30} more lines")
    outcome = done.outcome
    if outcome.run_seq is not None:
        click.echo(f"adjusted: issued {_documents(outcome.manifest['ledger'])}; ledger run {outcome.run_seq}")
        for currency, t in outcome.manifest["totals"].items():
            click.echo(totals_line(currency, t["count"], t))
        for currency, t in outcome.manifest.get("credit_note_totals", {}).items():
            click.echo(totals_line(currency, t["count"], t).replace("invoices", "credit notes", 1))
        _credits_line(outcome.credits)
    click.echo(f"reconciliation: {outcome.out / 'reconciliation.csv'}")


listing_options = [
    click.option("--contract", "contracts", multiple=True, help="Only this contract (repeatable)."),
    click.option("--customer", "customers", multiple=True, help="Only this customer (repeatable)."),
    click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True),
]


def with_listing(fn: Callable) -> Callable:
    for option in reversed(listing_options + ledger_options):
        fn = option(fn)
    return fn


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--status", type=click.Choice(["issued", "credited"]), help="Only invoices in this status.")
@with_listing
def invoices(workspace: Path, status: str | None, contracts: tuple[str, ...], customers: tuple[str, ...], fmt: str,
             ledger: Path | None, wait: float) -> None:
    """List the invoices in the ledger, in number order (invoices and adjustment invoices).

    Example: usagebill invoices ws/ --status issued --format csv > invoices.csv
    """
    _list(workspace, "invoices", status, contracts, customers, fmt, ledger, wait)


@cli.command("credit-notes")
@click.argument("workspace", type=click.Path(path_type=Path))
@with_listing
def credit_notes(workspace: Path, contracts: tuple[str, ...], customers: tuple[str, ...], fmt: str,
                 ledger: Path | None, wait: float) -> None:
    """List the credit notes in the ledger, in number order.

    Example: usagebill credit-notes ws/ --format json
    """
    _list(workspace, "credit_notes", None, contracts, customers, fmt, ledger, wait)


def _list(workspace: Path, what: str, status: str | None, contracts: tuple[str, ...], customers: tuple[str, ...],
          fmt: str, ledger: Path | None, wait: float) -> None:
    from .ledger.export import listing, render
    from .ledger.store import ledger_path, open_ledger

    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        table = listing(led, what, status=status, contracts=contracts, customers=customers)
    click.echo(render(table, fmt), nl=False)


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--run", "run_seq", type=click.IntRange(1),
              help="Write again the documents and manifest of this ledger run (see the runs table).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xero", "quickbooks", "netsuite"]),
              help="Export the issued invoices and credit notes for accounting in this layout.")
@click.option("--from", "first_day", callback=_date, help="With --format: documents issued on or after this date.")
@click.option("--to", "stop_day", callback=_date, help="With --format: ... and before this date.")
@click.option("--pending", is_flag=True,
              help="With --format: every document not yet exported in that format, recorded in the ledger "
                   "(docs/month-end-exports.md).")
@click.option("--list", "list_exports", is_flag=True, help="List the exports recorded by --pending.")
@click.option("--id", "export_id", type=click.IntRange(1),
              help="Write again the documents of recorded export N, in its format (see --list).")
@with_ledger
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
    from .ledger.store import ledger_path, open_ledger

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
        from .ledger.export import export_run

        with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
            target = export_run(led, run_seq, out, workspace)
        click.echo(f"outputs: {target}")
        return
    if list_exports:
        _list_exports(workspace, ledger, wait)
        return
    from .accounting.export import export_again, export_documents, export_pending

    if pending:
        done = export_pending(workspace, fmt, out=out, ledger=ledger, wait=wait)
        if done is None:
            click.echo(f"export {fmt} --pending: nothing to export (every document is already in an export of {fmt})")
            return
        _export_summary(done, f"export {fmt} {done.manifest['export_id']}")
        return
    if export_id is not None:
        done, record, differ = export_again(workspace, export_id, out=out, ledger=ledger, wait=wait)
        _export_summary(done, f"export {record['format']} {export_id} again")
        if differ:
            click.echo(f"warning: {', '.join(differ)} differ from export {export_id}'s recorded sha256 "
                       "(the workspace's customers, company or accounting.yaml changed since?)", err=True)
        else:
            click.echo(f"identical to export {export_id} (sha256 of every file as recorded)")
        return
    if first_day and stop_day and stop_day <= first_day:
        raise BillingError(f"--to {stop_day} must be after --from {first_day}")
    done = export_documents(workspace, fmt, first=first_day, stop=stop_day, out=out, ledger=ledger, wait=wait)
    _export_summary(done, f"export {fmt}")


def _export_summary(done, what: str) -> None:  # noqa: ANN001 - pipeline.accounting.export.Exported
    counts = done.manifest["documents"]
    click.echo(f"{what}: {_count(counts['invoices'], 'invoice')}, {_count(counts['credit_notes'], 'credit note')} "
               f"in {_count(len(done.files), 'file')}")
    for currency, by_type in done.manifest["totals"].items():
        for kind, t in by_type.items():
            click.echo(f"  {currency} {kind.replace('_', ' ')}s: {t['count']:>6}  subtotal {t['subtotal']:>14}  "
                       f"tax {t['tax_total']:>12}  total {t['total']:>14}")
    click.echo(f"outputs: {done.out}")


def _list_exports(workspace: Path, ledger: Path | None, wait: float) -> None:
    from .accounting.export import list_exports

    found = list_exports(workspace, ledger=ledger, wait=wait)
    if not found:
        click.echo("no exports recorded yet (usagebill export WORKSPACE --format F --pending records one)")
        return
    rows = [["id", "format", "created_at", "documents", "files", "folder"]]
    rows += [[str(r["export_id"]), r["format"],
              r["created_at"].astimezone(dt.timezone.utc).isoformat(timespec="seconds"), str(r["documents"]),
              " ".join(f["name"] for f in r["files"]), r["folder"]] for r in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.rjust(w) if i in (0, 3) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                   .rstrip())


@cli.command("check-ledger")
@click.argument("workspace", type=click.Path(path_type=Path))
@with_ledger
def check_ledger(workspace: Path, ledger: Path | None, wait: float) -> None:
    """Check the ledger's integrity: gapless numbers, documents adding up, one live invoice per period.

    Example: usagebill check-ledger ws/
    """
    from .errors import CheckError
    from .ledger.check import problems
    from .ledger.store import ledger_path, open_ledger

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
    click.echo(f"ledger ok: {_count(counts['invoice'], 'invoice')}, {_count(counts['credit_note'], 'credit note')}, "
               f"{_count(runs, 'run')} ({path})")


from . import cli_documents  # noqa: E402,F401 - registers render, payments, ar on `cli`
