"""issue and nightly: rate like `run`, then number the invoices and record them in the ledger.

Each command is one batch under the ledger's exclusive lock: read the ledger, rate, number the
documents, commit them in one transaction, then publish the output folder from the ledger. The
ledger is the record: outputs are written only after the commit, and `usagebill export --run N`
writes them again from it.

- issue: the periods closing in [--from, --to); a period that already has a live invoice is
  skipped, or with --reissue cancelled by a credit note and issued again under a new number.
- nightly --as-of D: for every contract, every period since its start with period_end <= D
  that has no live invoice yet (the next uninvoiced cycles): missed nights catch up.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import __version__
from ..billing import emit
from ..billing.periods import Period, closing_periods, instant
from ..billing.run import bill
from ..billing.scope import select
from ..billing.types import Bill, RunArgs
from ..config.workspace import Workspace, load_workspace
from ..core.db import sql
from ..core.errors import BillingError, ConfigError
from ..core.gcpause import without_gc
from ..core.io import staged_dir, write_bytes
from ..core.money import currency_digits, format_money
from .chains import chains, live_invoices, live_periods
from .closing import closed
from .credits import draw_down, run_allocations
from .documents import Batch, Numbering
from .export import run_documents, write_documents
from .store import Ledger, RunRecord, add_tasks, commit, ledger_path, open_ledger
from .tables import LINE_TERMS

DEFAULT_WAIT = 600.0  # seconds a batch waits for another one holding the ledger


@dataclass
class Skipped:
    contract_id: str
    period_start: dt.date
    period_end: dt.date
    invoice_number: str

    def as_dict(self) -> dict:
        return {"contract_id": self.contract_id, "period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "invoice_number": self.invoice_number}


@dataclass
class Outcome:
    """What one batch did. run_seq is None when it issued nothing: the ledger is unchanged, and no folder is
    written (except a reconciliation's)."""

    command: str
    run_id: str | None = None
    run_seq: int | None = None
    bill: Bill | None = None
    docs: dict[str, pa.Table] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    out: Path | None = None
    credits: list[dict] = field(default_factory=list)  # prepaid credit drawn at issue (ledger/credits.py)


def period_keys(result: Bill) -> list[tuple[tuple[str, dt.date], dt.date]]:
    """((contract_id, period_start), period_end) of each of a run's invoices, in its order."""
    cols = result.invoices.select(["contract_id", "period_start", "period_end"]).to_pydict()
    return [((c, s), e) for c, s, e in zip(cols["contract_id"], cols["period_start"], cols["period_end"])]


def new_batch(ledger: Ledger, prefix: str, issue_date: dt.date) -> tuple[Batch, dict[str, int]]:
    """An empty batch numbering on from the ledger's sequences (returned too, to be checked at commit)."""
    start = ledger.sequences()
    return Batch(ledger.last_run_seq() + 1, issue_date, Numbering(prefix, dict(start))), start


def _totals(t: pa.Table) -> dict[str, dict]:
    """Count and money per currency of a documents table."""
    money = ("subtotal", "discount_total", "tax_total", "total")
    sums = t.group_by("currency", use_threads=False).aggregate(
        [("currency", "count"), *((k, "sum") for k in money)]).sort_by("currency").to_pylist()
    return {r["currency"]: {"count": r["currency_count"],
                            **{k: format_money(r[f"{k}_sum"], currency_digits(r["currency"]) or 0) for k in money}}
            for r in sums}


def _by_sequence(t: pa.Table) -> pa.Table:
    """The rows in `sequence` order (a stable sort), which a batch's tables usually are already (a sort
    of a 500k-invoice batch's 6M lines costs ~2 s)."""
    seq = t.column("sequence")
    if not seq.null_count and bool(np.all(np.diff(seq.to_numpy()) >= 0)):
        return t
    return t.sort_by("sequence")


def _numbers(t: pa.Table, column: str) -> dict:
    """Count, first and last number of a documents table (sorted by sequence)."""
    values = t.column(column).to_pylist()
    return {"count": len(values), "first": values[0] if values else None, "last": values[-1] if values else None}


def line_terms(ws: Workspace, invoices: pa.Table, lines: pa.Table) -> pa.Table:
    """invoice_line_terms rows for a batch's invoices: what set the prices of each line, from the
    terms in force for the invoice's contract and period (pipeline/config/terms.py). The terms are
    resolved once per plan for contracts whose terms never change (their sources are the plan's and
    contracts.csv), once per invoice for the others; each distinct (terms, line type, charge) is
    looked up once and joined to the lines (sql/ledger/line_terms.sql). Which terms each invoice has
    is found by column (826k invoices: the keys made one by one took 1.5 s): its key is its plan
    (after a NUL, which no id holds) or its contract and period start, numbered in order of first
    appearance; an invoice whose contract or plan the workspace no longer has has none."""
    contracts = ws.contracts
    at = pc.index_in(invoices.column("contract_id"), value_set=pa.array(list(contracts), pa.string()))
    plan = pa.array([k.plan_id for k in contracts.values()], pa.string()).take(at)
    ids, starts = invoices.column("contract_id"), invoices.column("period_start")
    # not ws.unchanging(contract), by column: a versioned plan or an entry in the contract terms
    changing = pc.or_(pc.is_in(plan, value_set=pa.array(sorted(ws.versioned_plans), pa.string())),
                      pc.is_in(ids, value_set=pa.array(sorted(ws.terms.entries), pa.string())))
    key = pc.if_else(changing, pc.binary_join_element_wise(ids, pc.cast(starts, pa.string()), "\0"),
                     pc.binary_join_element_wise("", plan, "\0"))
    has_terms = pc.is_in(plan, value_set=pa.array(sorted(ws.pricebook.plans), pa.string()))  # a known plan
    key = pc.if_else(has_terms, key, pa.scalar(None, pa.string()))
    coded = pc.dictionary_encode(key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key)
    codes = pc.fill_null(coded.indices, -1).to_numpy()
    present = np.flatnonzero(codes >= 0)
    _, first = np.unique(codes[present], return_index=True)  # each key's first invoice (codes: first seen)
    firsts = pa.array(present[first], pa.int64())
    first_ids, first_starts = ids.take(firsts).to_pylist(), starts.take(firsts).to_pylist()
    terms = [ws.terms_at(contracts[c], d) for c, d in zip(first_ids, first_starts)]
    of_invoice = pc.cast(coded.indices, pa.int64())
    at = pc.index_in(lines.column("invoice_number"), value_set=invoices.column("invoice_number"))
    lines_k = pa.table({"row": pa.array(np.arange(lines.num_rows, dtype=np.int64)),
                        "invoice_number": lines.column("invoice_number"), "line_number": lines.column("line_number"),
                        "terms_key": of_invoice.take(at),
                        "line_type": lines.column("line_type"), "charge_id": lines.column("charge_id")})
    distinct = lines_k.group_by(["terms_key", "line_type", "charge_id"], use_threads=False).aggregate([])
    sources = [None if k is None else terms[k].line_source(t, c)
               for k, t, c in zip(*(distinct.column(n).to_pylist() for n in ("terms_key", "line_type", "charge_id")))]
    con = duckdb.connect()
    try:
        con.register("lines_k", lines_k)
        con.register("sources_t", distinct.append_column("terms_source", pa.array(sources, pa.string())))
        return con.sql(sql("ledger/line_terms")).to_arrow_table().cast(LINE_TERMS)
    finally:
        con.close()


def batch_run_id(command: str, arguments: dict, inputs: dict[str, str], batch: Batch) -> str:
    """Derived from the version, the command, its arguments, the input fingerprints and the ledger's state."""
    blob = json.dumps({"version": __version__, "command": command, "arguments": arguments, "inputs": inputs,
                       "ledger": {"run_seq": batch.run_seq, "sequences": batch.numbering.last}},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def finish(ledger: Ledger, batch: Batch, start: dict[str, int], outcome: Outcome, arguments: dict,
           workspace: Path, out: Path | None, progress: Callable[[str], None],
           extra: dict[str, pa.Table] | None = None, extra_manifest: dict | None = None,
           ws: Workspace | None = None, tasks: tuple[str, ...] = ()) -> Outcome:
    """Commit the batch, then publish its output folder from the ledger.

    An issue or nightly without documents changes nothing and writes nothing; `extra` tables
    (a reconciliation) are written in any case. `tasks` (--then) are recorded pending in the batch's
    own transaction, so a batch is never committed without them (pipeline/month_end/tasks.py runs them).
    """
    result = outcome.bill
    outcome.skipped.sort(key=lambda s: (s.period_end, s.contract_id, s.period_start))
    if batch.empty and not extra:
        return outcome
    tables = batch.tables()
    tables = {name: _by_sequence(t) if "sequence" in t.column_names else t for name, t in tables.items()}
    invoices, notes = tables["invoices"], tables["credit_notes"]
    if not batch.invoices and batch.run_invoices is result.invoices and len(batch.from_run) == len(result.invoices):
        usage = result.usage  # every invoice of the run issued, each once, and none other: all its usage
    else:
        issued_ids = invoices.filter(pc.equal(invoices.column("kind"), "invoice")).column("invoice_id")
        usage = result.usage.filter(pc.is_in(result.usage.column("invoice_id"), issued_ids))
    outcome.run_seq = None if batch.empty else batch.run_seq
    outcome.run_id = batch_run_id(outcome.command, arguments, result.inputs, batch)
    outcome.manifest = {
        "run_id": outcome.run_id, "command": outcome.command, "usagebill_version": __version__,
        "arguments": arguments, "rating": {"run_id": result.run_id, "arguments": result.args.as_dict()},
        "inputs": result.inputs, "counts": result.counts, "warnings": result.warnings,
        "ledger": {"path": ledger.path.name, "run_seq": outcome.run_seq,
                   "invoices": _numbers(invoices, "invoice_number"),
                   "credit_notes": _numbers(notes, "credit_note_number"), "credited": batch.credited},
        "totals": _totals(invoices), "credit_note_totals": _totals(notes),
        "skipped": [s.as_dict() for s in outcome.skipped],
        "outputs": {**{name: t.num_rows for name, t in tables.items()}, "usage": usage.num_rows,
                    "quarantine": result.quarantine.num_rows, **{name: t.num_rows for name,
                                                                 t in (extra or {}).items()}},
        "seconds": {k: round(v, 3) for k, v in result.timings.items()},
        **(extra_manifest or {}),
    }
    text = json.dumps(outcome.manifest, indent=2, sort_keys=True) + "\n"
    if outcome.run_seq is not None:
        progress("commit")
        ws = ws or load_workspace(workspace)  # the terms that priced each line, recorded with the batch
        recorded = {**tables, "invoice_line_terms": line_terms(ws, invoices, tables["invoice_lines"])}
        commit(ledger, recorded, batch.credited, batch.numbering.last, start,
               RunRecord(batch.run_seq, outcome.run_id, outcome.command, text),
               then=lambda led: _in_batch(led, batch.run_seq, tasks))
        outcome.docs = run_documents(ledger, batch.run_seq)
        outcome.credits = run_allocations(ledger, batch.run_seq)
    progress("emit")
    outcome.out = out or workspace / "out" / f"{outcome.command}-{outcome.run_id}"
    with staged_dir(outcome.out) as stage:
        if outcome.docs:
            write_documents(stage, outcome.docs, {"usage": usage, "quarantine": result.quarantine})
        for name, t in (extra or {}).items():
            emit.write_parquet(t, stage / f"{name}.parquet")
            emit.write_csv(t, stage / f"{name}.csv", {c: currency_digits(c) or 0 for c in
                                                      set(t.column("currency").to_pylist())})
        write_bytes(stage / "manifest.json", text.encode())
    return outcome


@without_gc
def issue(workspace: Path, args: RunArgs, *, ledger: Path | None = None, reissue: bool = False,
          issue_date: dt.date | None = None, out: Path | None = None, wait: float = DEFAULT_WAIT,
          threads: int | None = None, memory_limit: str | None = None, allow_open: bool = False,
          now: dt.datetime | None = None, tasks: tuple[str, ...] = (),
          progress: Callable[[str], None] = lambda _s: None) -> Outcome:
    """Issue the invoices of the periods closing in [args.first_day, args.stop_day); a period that has
    not ended yet (its end instant after now) is refused unless allow_open. tasks: --then, recorded
    pending with the batch."""
    ws = load_workspace(workspace)  # configuration errors before the ledger is touched
    if not allow_open:
        scope = select(ws, args.first_day, args.stop_day, args.contracts, args.customers)
        open_periods(scope, now or dt.datetime.now(dt.UTC))
    issue_date = issue_date or dt.date.today()
    progress("ledger lock")
    with open_ledger(ledger_path(workspace, ledger), write=True, wait=wait) as led:
        result = bill(workspace, args, threads=threads, memory_limit=memory_limit, progress=progress, loaded=ws)
        progress("number")
        live = live_invoices(led, result.invoices)  # of this batch's periods only
        batch, start = new_batch(led, ws.pricebook.company.invoice_prefix, issue_date)
        outcome = Outcome("issue", bill=result)
        if not live:  # the usual batch: every period new, numbered at once in the run's order
            batch.issue_rows(result.invoices, result.lines, list(range(result.invoices.num_rows)))
        elif reissue:  # a period issued before is cancelled and issued again, in the run's order
            periods = period_keys(result)
            held = chains(led, [k for k, _ in periods if k in live], live)
            for row, (key, _) in enumerate(periods):
                if key in live:
                    batch.cancel(held[key], "reissue")
                    batch.issue_row(result.invoices, result.lines, row, original=live[key])
                else:
                    batch.issue_row(result.invoices, result.lines, row)
        else:  # new periods are issued, numbered at once in the run's order; the others are skipped
            new = []
            for row, (key, period_end) in enumerate(period_keys(result)):
                if key in live:
                    outcome.skipped.append(Skipped(*key, period_end, live[key]["invoice_number"]))
                else:
                    new.append(row)
            batch.issue_rows(result.invoices, result.lines, new)
        arguments = {**args.as_dict(), "reissue": reissue}
        if reissue:
            arguments["issue_date"] = issue_date.isoformat()
        return finish(led, batch, start, outcome, arguments, workspace, out, progress, ws=ws, tasks=tasks)


def _in_batch(led: Ledger, run_seq: int, tasks: tuple[str, ...]) -> None:
    """What commits with the batch's documents: the draw-down of prepaid credit, the pending --then tasks."""
    draw_down(led, run_seq)
    if tasks:
        add_tasks(led, run_seq, tasks)


def uninvoiced(ws: Workspace, live: set, as_of: dt.datetime, grace: dt.timedelta = dt.timedelta(0),
               contract_ids: set[str] | None = None) -> dict[str, list[Period]]:
    """contract_id -> its periods since its start that have closed by as_of (end instant + grace <=
    as_of, pipeline/ledger/closing.py), have no live invoice and were not billed elsewhere (billed_through)."""
    todo: dict[str, list[Period]] = {}
    horizon = as_of.date() + dt.timedelta(days=2)  # past any zone's local date at as_of
    for k in sorted(ws.contracts.values(), key=lambda k: k.contract_id):
        if contract_ids is not None and k.contract_id not in contract_ids:
            continue
        tz = ws.customers[k.customer_id].timezone
        periods = [p for p in closing_periods(k, k.start_date, horizon)
                   if (k.contract_id, p.start) not in live and closed(instant(p.end, tz), as_of, grace)
                   and not ws.billed_elsewhere(k, p.last_day)]
        if periods:
            todo[k.contract_id] = periods
    return todo


def open_periods(scope, now: dt.datetime) -> None:  # a billing.scope.Scope
    """Refuse to issue a period that has not ended yet, naming the first one and when it ends."""
    late = pc.greater(scope.end_at, pa.scalar(now, scope.end_at.type))
    if pc.any(late).as_py():
        rows = zip(*(pc.filter(a, late).to_pylist() for a in (scope.end_at, scope.contract_ids, scope.days("start"))))
        pending = sorted(rows)
        end_at, contract_id, start = pending[0]
        more = f" (and {len(pending) - 1} more)" if len(pending) > 1 else ""
        raise BillingError(f"contract {contract_id}: the period from {start} has not ended yet: it closes at "
                           f"{end_at.astimezone(dt.UTC).isoformat()}{more}; issue it after that, or pass "
                           "--allow-open to issue it now (its usage so far, final and numbered)")


@without_gc
def nightly(workspace: Path, as_of: dt.datetime | dt.date, *, grace: dt.timedelta = dt.timedelta(0),
            contracts: tuple[str, ...] = (), customers: tuple[str, ...] = (), ledger: Path | None = None,
            out: Path | None = None, wait: float = DEFAULT_WAIT, dedup_window_days: int | None = None,
            threads: int | None = None, memory_limit: str | None = None, events: str | None = None,
            tasks: tuple[str, ...] = (), progress: Callable[[str], None] = lambda _s: None) -> Outcome:
    """Issue every closed (end instant + grace <= as_of) and not yet issued period of every contract
    (or of the selected contracts and customers), oldest first.

    One rating for all of them, of exactly those periods; periods already issued or billed by a
    previous system (billed_through) are never issued. A date as_of is its midnight UTC.
    """
    if not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time(0), tzinfo=dt.UTC)
    ws = load_workspace(workspace)
    unknown = [f"--contract {c}: no such contract in contracts" for c in contracts if c not in ws.contracts]
    unknown += [f"--customer {c}: no such customer in customers" for c in customers if c not in ws.customers]
    if unknown:
        raise ConfigError(unknown)
    chosen = None if not contracts and not customers else {
        k.contract_id for k in ws.contracts.values() if k.contract_id in contracts or k.customer_id in customers}
    outcome = Outcome("nightly")
    progress("ledger lock")
    with open_ledger(ledger_path(workspace, ledger), write=True, wait=wait) as led:
        live = live_periods(led)
        todo = uninvoiced(ws, live, as_of, grace, chosen)
        if not todo:
            return outcome
        first = min(p.last_day for periods in todo.values() for p in periods)
        stop = max(p.end for periods in todo.values() for p in periods)
        selected = tuple(sorted(todo)) if len(todo) < len(ws.contracts) else ()
        extra = {} if dedup_window_days is None else {"dedup_window_days": dedup_window_days}
        args = RunArgs(first, stop, selected, (), **extra, events=events)
        outcome.bill = result = bill(workspace, args, threads=threads, memory_limit=memory_limit, progress=progress,
                                     periods_of=lambda k, _first, _stop: todo.get(k.contract_id, []), loaded=ws)
        progress("number")
        batch, start = new_batch(led, ws.pricebook.company.invoice_prefix, as_of.date())
        for row, (key, _) in enumerate(period_keys(result)):
            if key not in live:
                batch.issue_row(result.invoices, result.lines, row)
        arguments = {"as_of": as_of.isoformat(), "grace_seconds": int(grace.total_seconds()),
                     "contracts": sorted(contracts), "customers": sorted(customers),
                     "dedup_window_days": args.dedup_window_days}
        if events is not None:
            arguments["events"] = events
        return finish(led, batch, start, outcome, arguments, workspace, out, progress, ws=ws, tasks=tasks)
