"""reconcile: re-rate a window, compare it with what the ledger billed for it, and with --adjust bill the difference.

For every billed period of the window (the periods closing in [--from, --to) that are rated now,
and those with a live invoice in the ledger) the recomputed invoice is compared with the period's
net: its invoice documents minus its credit notes, line by line. A period differs as

- changed: some line's quantity or amount (or the tax) differs, e.g. events that arrived after
  the invoice was issued (late events);
- not_issued: it should be billed and has no live invoice;
- not_billable: it has a live invoice but is no longer billed (its contract or period is gone).

--adjust turns each difference into documents, numbered like the others, in the order
(period_end, contract_id): changed -> an adjustment invoice for the line-by-line difference
(a credit note, reason `adjustment`, when the difference is negative); when the invoice's terms
changed (customer, plan, currency, period end, tax rate or note) the period is credited in full
and invoiced again instead. not_issued -> its invoice; not_billable -> a credit note cancelling it.
Afterwards the net of every period equals the re-rating, so a late event is billed exactly once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from ..billing import emit
from ..billing.run import bill
from ..billing.types import Bill, RunArgs
from ..config.workspace import load_workspace
from ..core.gcpause import without_gc
from .chains import Chain, Key, NetLine, chains, live_in_window, live_invoices
from .documents import Batch, line_differences, net_lines
from .issue import DEFAULT_WAIT, Outcome, finish, new_batch
from .store import Ledger, ledger_path, open_ledger

TERMS = ("customer_id", "plan_id", "currency", "period_end", "tax_percent", "tax_note")
SCHEMA = pa.schema([
    ("invoice_number", pa.string()), ("difference", pa.string()), ("contract_id", pa.string()),
    ("customer_id", pa.string()), ("currency", pa.string()), ("period_start", pa.date32()),
    ("period_end", pa.date32()), ("line_type", pa.string()), ("charge_id", pa.string()), ("metric_id", pa.string()),
    ("group_key", pa.string()), ("description", pa.string()), ("issued_quantity", emit.QUANTITY),
    ("recomputed_quantity", emit.QUANTITY), ("delta_quantity", emit.QUANTITY), ("issued_amount", emit.MONEY),
    ("recomputed_amount", emit.MONEY), ("delta_amount", emit.MONEY),
])


def rows_by_invoice(result: Bill) -> tuple[list[dict], dict[str, list[dict]]]:
    """A run's invoice headers (its order: period_end, contract_id) and each one's lines."""
    lines: dict[str, list[dict]] = {}
    for line in result.lines.to_pylist():
        lines.setdefault(line["invoice_id"], []).append(line)
    return result.invoices.to_pylist(), lines


@dataclass
class PeriodDifference:
    key: Key
    difference: str  # changed, not_issued, not_billable
    chain: Chain | None
    header: dict | None  # the recomputed invoice (run columns), None when not billable
    lines: list[dict]  # its lines
    rows: list[dict] = field(default_factory=list)  # reconciliation rows

    @property
    def order(self) -> tuple:
        ref = self.header or self.chain.live
        return ref["period_end"], self.key[0], self.key[1]


@dataclass
class Reconciled:
    compared: int  # billed periods compared
    differences: list[PeriodDifference]
    table: pa.Table  # reconciliation rows
    outcome: Outcome  # the output folder and, with --adjust, the documents issued

    @property
    def differs(self) -> bool:
        return bool(self.differences)


def _row(diff: PeriodDifference, issued: NetLine | None, recomputed: NetLine | None) -> dict:
    ref = diff.header or diff.chain.live
    live = diff.chain.live if diff.chain else None
    src = recomputed or issued
    iq, ia = (issued.quantity, issued.amount) if issued else (None, None)
    rq, ra = (recomputed.quantity, recomputed.amount) if recomputed else (None, None)
    return {"invoice_number": live["invoice_number"] if live else None, "difference": diff.difference,
            "contract_id": diff.key[0], "customer_id": ref["customer_id"], "currency": ref["currency"],
            "period_start": diff.key[1], "period_end": ref["period_end"], "line_type": src.line_type,
            "charge_id": src.charge_id, "metric_id": src.metric_id, "group_key": src.group_key,
            "description": src.description, "issued_quantity": iq, "recomputed_quantity": rq,
            "delta_quantity": None if src.line_type == "tax" else (rq or 0) - (iq or 0),
            "issued_amount": ia, "recomputed_amount": ra, "delta_amount": (ra or 0) - (ia or 0)}


def _tax(header: dict | None, amount: Decimal | None) -> NetLine | None:
    if amount is None:
        return None
    name = (header or {}).get("tax_name") or "tax"
    return NetLine("tax", None, None, "", name, None, None, amount)


def _difference(key: Key, chain: Chain | None, header: dict | None, lines: list[dict]) -> PeriodDifference | None:
    live = chain.live if chain else None
    issued = chain.lines if chain else {}
    recomputed = net_lines(lines)
    if header is not None and live is None:
        diff = PeriodDifference(key, "not_issued", chain, header, lines)
        pairs = [(issued.get(k), r) for k, r in recomputed.items()]
    elif header is None:
        diff = PeriodDifference(key, "not_billable", chain, None, [])
        pairs = [(i, None) for i in issued.values()]
    else:
        diff = PeriodDifference(key, "changed", chain, header, lines)
        pairs = line_differences(issued, recomputed)
    issued_tax = chain.net["tax_total"] if live else None
    new_tax = header["tax_total"] if header else None
    if (issued_tax or 0) != (new_tax or 0):
        pairs.append((_tax(live, issued_tax), _tax(header, new_tax)))
    if not pairs:
        return None
    diff.rows = [_row(diff, i, r) for i, r in pairs]
    return diff


def compare(result: Bill, ledger: Ledger, selected: set[str] | None,
            elsewhere: Callable[[str, dt.date], bool] = lambda _k, _d: False) -> tuple[int, list[PeriodDifference]]:
    """Every billed period of the window that differs from the ledger, in (period_end, contract_id) order.

    `selected`: the contract ids a --contract/--customer selection allows (None: every contract).
    `elsewhere(contract_id, last_day)`: the period was billed by a previous system (billed_through):
    without an invoice in the ledger it is not reported.
    """
    headers, lines = rows_by_invoice(result)
    live = live_invoices(ledger, [(h["contract_id"], h["period_start"]) for h in headers])
    recomputed = {(h["contract_id"], h["period_start"]): h for h in headers
                  if (h["contract_id"], h["period_start"]) in live
                  or not elsewhere(h["contract_id"], h["period_end"] - dt.timedelta(days=1))}
    first, stop = result.args.first_day, result.args.stop_day
    window = live_in_window(ledger, first, stop)
    live.update(window)
    in_window = [k for k in window if selected is None or k[0] in selected]
    keys = sorted(set(recomputed) | set(in_window))
    held = chains(ledger, keys, live)
    out = []
    for k in keys:
        header = recomputed.get(k)
        d = _difference(k, held.get(k), header, lines[header["invoice_id"]] if header else [])
        if d is not None:
            out.append(d)
    out.sort(key=lambda d: d.order)
    return len(keys), out


def adjust(batch: Batch, differences: list[PeriodDifference]) -> None:
    """Documents that make every period's net equal to its re-rating (module docstring)."""
    for d in differences:
        live = d.chain.live if d.chain else None
        if d.difference == "not_issued":
            batch.issue(d.header, d.lines)
        elif d.difference == "not_billable":
            batch.cancel(d.chain, "cancellation")
        elif any(d.header[t] != live[t] for t in TERMS) or all(r["line_type"] == "tax" for r in d.rows):
            batch.cancel(d.chain, "reissue")
            batch.issue(d.header, d.lines, original=live)
        else:
            batch.adjust(d.chain, d.header, d.lines)


def _selection(workspace: Path, args: RunArgs) -> set[str] | None:
    if not args.contracts and not args.customers:
        return None
    ws = load_workspace(workspace)
    return {k.contract_id for k in ws.contracts.values()
            if k.contract_id in args.contracts or k.customer_id in args.customers}


@without_gc
def reconcile(workspace: Path, args: RunArgs, *, ledger: Path | None = None, do_adjust: bool = False,
              issue_date: dt.date | None = None, out: Path | None = None, wait: float = DEFAULT_WAIT,
              threads: int | None = None, memory_limit: str | None = None,
              progress: Callable[[str], None] = lambda _s: None) -> Reconciled:
    """Compare the window with the ledger and write reconciliation.parquet/.csv; with do_adjust, bill the differences.

    Without --adjust the rating runs unlocked and the ledger is read under a shared lock; with
    --adjust the whole read-rate-write holds the exclusive lock, like `issue`.
    """
    ws = load_workspace(workspace)
    selected = _selection(workspace, args)
    issue_date = issue_date or dt.date.today()
    path = ledger_path(workspace, ledger)
    arguments = {**args.as_dict(), "adjust": do_adjust}
    if do_adjust:
        arguments["issue_date"] = issue_date.isoformat()
    result = None if do_adjust else bill(workspace, args, threads=threads, memory_limit=memory_limit,
                                         progress=progress)
    progress("ledger lock")
    with open_ledger(path, write=do_adjust, wait=wait) as led:
        if result is None:
            result = bill(workspace, args, threads=threads, memory_limit=memory_limit, progress=progress)
        progress("compare")
        compared, differences = compare(result, led, selected,
                                        lambda k, last: ws.billed_elsewhere(ws.contracts[k], last))
        table = pa.Table.from_pylist([r for d in differences for r in d.rows], schema=SCHEMA)
        batch, start = new_batch(led, ws.pricebook.company.invoice_prefix, issue_date)
        if do_adjust:
            adjust(batch, differences)
        summary = {"periods_compared": compared, "rows": table.num_rows,
                   **{kind: sum(d.difference == kind for d in differences)
                      for kind in ("changed", "not_issued", "not_billable")}}
        outcome = finish(led, batch, start, Outcome("reconcile", bill=result), arguments, workspace, out, progress,
                         extra={"reconciliation": table}, extra_manifest={"reconciliation": summary}, ws=ws)
    return Reconciled(compared, differences, table, outcome)
