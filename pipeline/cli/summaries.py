"""What the commands print: every summary, table and warning line of the command line, in one place.

The commands (billing.py, ledger.py, month_end.py, ...) compute and call these; --quiet and
--format json are decided by `say`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..billing.types import Bill


def run_summary(result: Bill, target: Path) -> None:
    from ..billing.ingest import QUARANTINE_REASONS

    c = result.counts
    quarantined = sum(c[k] for k in QUARANTINE_REASONS)
    click.echo(f"run {result.run_id}: {result.invoices.num_rows} invoices from {c['read']} events "
               f"({c['billed']} billed, {c['duplicate']} duplicate, {quarantined} quarantined, "
               f"{c['outside_window']} outside the window)")
    for currency, t in result.totals().items():
        click.echo(totals_line(currency, t["invoices"], t))
    if quarantined:
        reasons = ", ".join(f"{k} {c[k]}" for k in QUARANTINE_REASONS if c[k])
        click.echo(f"  quarantine: {reasons} (see quarantine.parquet)")
    click.echo(f"outputs: {target}")


def preview_table(doc: dict, digits: int) -> str:
    inv, up_to, local = doc["invoice"], doc["usage_up_to"], doc["usage_up_to_local"]
    money = lambda v: "" if v is None else f"{v:.{digits}f}"  # noqa: E731
    out = [f"PREVIEW, draft (not issued): contract {inv['contract_id']}, period {inv['period_start']} to "
           f"{inv['period_end']}, usage up to {local.isoformat()} "
           f"({doc['timezone']}; {up_to.strftime('%Y-%m-%d %H:%M')} UTC)",
           f"invoice {inv['invoice_id']}  customer {inv['customer_id']}  plan {inv['plan_id']}  {inv['currency']}  "
           f"status {inv['status']}  issue date {inv['issue_date']}", ""]
    rows = [("#", "type", "charge", "group", "quantity", "unit price", "amount")]
    for x in doc["lines"]:
        rows.append((str(x["line_number"]), x["line_type"], x["charge_id"] or "", x["group_key"],
                     f"{x['quantity'].normalize():f}",
                     "" if x["unit_price"] is None else f"{x['unit_price'].normalize():f}",
                     money(x["amount"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {0, 4, 5, 6}
    for r in rows:
        out.append("  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r,
                                                                                                     widths))).rstrip())
    tax = f"tax {inv['tax_percent'].normalize():f}%" + (f" {inv['tax_name']}" if inv["tax_name"] else "") + \
        (f" ({inv['tax_note']})" if inv["tax_note"] else "")
    out += ["", f"subtotal {money(inv['subtotal'])}  discount {money(inv['discount_total'])}  "
                f"{tax} {money(inv['tax_total'])}  total {money(inv['total'])} {inv['currency']}",
            f"events so far: {doc['counts']['billed']} billed, {doc['counts']['duplicate']} duplicate "
            f"(of {doc['counts']['read']} read for this customer)"]
    credit = doc["prepaid_credit"]
    if credit["drawn"]:
        sources = ", ".join(f"grant {c['grant_id']} {money(c['amount'])}" if c["source"] == "grant"
                            else f"customer credit {money(c['amount'])}" for c in credit["drawn"])
        out.append(f"prepaid credit it would draw if issued now: {money(credit['prepaid'])} ({sources}); "
                   f"amount due {money(credit['amount_due'])} {inv['currency']}")
    return "\n".join(out)


def documents_text(ledger: dict) -> str:
    """'3 invoices (HC-4 to HC-6), 1 credit note (HC-CN-1)' from a batch manifest's ledger section."""
    parts = []
    for key, word in (("invoices", "invoice"), ("credit_notes", "credit note")):
        d = ledger[key]
        span = "" if not d["count"] else f" ({d['first']})" if d["count"] == 1 else f" ({d['first']} to {d['last']})"
        parts.append(count(d["count"], word) + span)
    return ", ".join(parts)


def credits_applied(rows: list[dict]) -> dict[str, dict]:
    """Per currency: invoices that drew prepaid credit at issue and the amount drawn (exact text)."""
    from ..core.money import currency_digits, format_money

    out: dict[str, dict] = {}
    for r in rows:
        s = out.setdefault(r["currency"], {"invoices": set(), "amount": 0})
        s["invoices"].add(r["invoice_number"])
        s["amount"] += r["amount"]
    return {c: {"invoices": len(s["invoices"]), "amount": format_money(s["amount"], currency_digits(c) or 0)}
            for c, s in sorted(out.items())}


def credits_line(rows: list[dict]) -> None:
    for currency, s in credits_applied(rows).items():
        click.echo(f"  {currency}: prepaid credit applied {s['amount']} on {count(s['invoices'], 'invoice')} "
                   "(usagebill credits)")


def issued_doc(outcome) -> dict:  # pipeline.ledger.issue.Outcome
    """The batch's summary for --format json (nothing issued: ledger_run null, no documents)."""
    m = outcome.manifest
    return {"command": outcome.command, "run_id": outcome.run_id, "ledger_run": outcome.run_seq,
            "out": None if outcome.out is None else str(outcome.out), "ledger": m.get("ledger"),
            "totals": m.get("totals", {}), "credit_note_totals": m.get("credit_note_totals", {}),
            "skipped": [s.as_dict() for s in outcome.skipped], "warnings": m.get("warnings", []),
            "counts": m.get("counts"), "credits_applied": credits_applied(outcome.credits)}


def issued_summary(outcome, what: str) -> None:  # pipeline.ledger.issue.Outcome
    skipped = outcome.skipped
    if outcome.run_seq is None:
        reason = (f"{count(len(skipped), 'period')} already issued skipped" if skipped
                  else "every closed period is issued already" if outcome.command == "nightly"
                  else "no billing period closes in this window")
        click.echo(f"{what}: nothing issued; {reason}")
    else:
        text = documents_text(outcome.manifest["ledger"])
        if outcome.command == "issue":
            text += f", {len(skipped)} skipped"
        click.echo(f"{what}: issued {text}; ledger run {outcome.run_seq}")
        for currency, t in outcome.manifest["totals"].items():
            click.echo(totals_line(currency, t["count"], t))
        credits_line(outcome.credits)
    if skipped:
        hint = " (use --reissue to issue again)" if outcome.command == "issue" else ""
        click.echo(f"  skipped, already issued{hint}:")
        for s in skipped[:20]:
            click.echo(f"    {s.contract_id} {s.period_start} to {s.period_end}: {s.invoice_number}")
        if len(skipped) > 20:
            click.echo(f"    ... and {len(skipped) - 20} more")
    if outcome.out is not None:
        click.echo(f"outputs: {outcome.out}")


def reconcile_summary(done, what: str) -> None:  # pipeline.ledger.reconcile.Reconciled
    from ..core.money import currency_digits, format_money

    kinds = {k: sum(d.difference == k for d in done.differences) for k in ("changed", "not_issued", "not_billable")}
    click.echo(f"{what}: {count(done.compared, 'period')} compared, {len(done.differences)} differ "
               f"({kinds['changed']} changed, {kinds['not_issued']} not issued, "
               f"{kinds['not_billable']} no longer billable), {count(done.table.num_rows, 'line')}")
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
        click.echo(f"adjusted: issued {documents_text(outcome.manifest['ledger'])}; ledger run {outcome.run_seq}")
        for currency, t in outcome.manifest["totals"].items():
            click.echo(totals_line(currency, t["count"], t))
        for currency, t in outcome.manifest.get("credit_note_totals", {}).items():
            click.echo(totals_line(currency, t["count"], t).replace("invoices", "credit notes", 1))
        credits_line(outcome.credits)
    click.echo(f"reconciliation: {outcome.out / 'reconciliation.csv'}")


def export_summary(done, what: str) -> None:  # pipeline.month_end.accounting.export.Exported
    counts = done.manifest["documents"]
    click.echo(f"{what}: {count(counts['invoices'], 'invoice')}, {count(counts['credit_notes'], 'credit note')} "
               f"in {count(len(done.files), 'file')}")
    for currency, by_type in done.manifest["totals"].items():
        for kind, t in by_type.items():
            click.echo(f"  {currency} {kind.replace('_', ' ')}s: {t['count']:>6}  subtotal {t['subtotal']:>14}  "
                       f"tax {t['tax_total']:>12}  total {t['total']:>14}")
    click.echo(f"outputs: {done.out}")


def money_text(value: Decimal, currency: str) -> str:
    from ..core.money import currency_digits, format_money

    return f"{format_money(value, currency_digits(currency) or 0)} {currency}"


def allocation_lines(rows: list[dict]) -> None:
    for a in rows:
        source = f"grant {a['grant_id']}" if a["source"] == "grant" else "customer credit"
        click.echo(f"  {source} -> {a['invoice_number']}: {money_text(a['amount'], a['currency'])}")


def send_summary(done, what: str) -> None:  # pipeline.month_end.send.SendResult
    """The summary lines of a send (the command's, and the `send` task's)."""
    click.echo(f"{what}: {count(len(done.sent), 'document')} sent, {len(done.already)} already sent, "
               f"{len(done.no_email)} without email, {len(done.failed) + len(done.unsent)} not sent")
    for s in done.sent:
        click.echo(f"  {s.number} -> {', '.join(s.to)}: {', '.join(s.attachments)}")
    send_warnings(done)


def send_warnings(done) -> None:  # pipeline.month_end.send.SendResult
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


def count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
