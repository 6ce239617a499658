"""tasks: what runs after a committed batch, on exactly its documents (`issue --then`, `nightly --then`).

`--then render:pdf,export:xero,send` names the tasks, in order:

- `render:pdf`, `render:ubl`: the batch's documents into WORKSPACE/out/render-FORMAT-run-N (a UBL
  render leaves out, and lists, the documents of 3-decimal currencies, as a window render does);
- `export:csv|xero|quickbooks|netsuite`: the batch's documents not yet exported in that format, recorded
  as an export (so `export --format F --pending` later does not hand them over again);
- `send`: the batch's documents emailed to their customers (pipeline/month_end/send.py), each once.

Each (batch, task) is a row of the ledger's post_issue_tasks, recorded as pending right after the batch
commits, then done or failed with what it wrote or why it failed. A `--then` also runs every earlier
batch's task of the same name that is not done: a task that failed (SMTP down, a full disk) is retried by
the next night without issuing anything again. The pending rows commit in the batch's own transaction
(pipeline/ledger/issue.py), so a batch killed after its commit still has them; the tasks themselves run
after it, outside it: the invoices are issued whatever a task does.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..core.db import sql
from ..core.errors import BillingError
from ..ledger.store import add_tasks, ledger_path, open_ledger, run, transaction

EXPORT_FORMATS = ("csv", "xero", "quickbooks", "netsuite")
TASKS = ("render:pdf", "render:ubl", *(f"export:{f}" for f in EXPORT_FORMATS), "send")


def parse_tasks(text: str | None) -> tuple[str, ...]:
    """'render:pdf, send' -> ('render:pdf', 'send'); an unknown or repeated task is an error naming it."""
    if text is None:
        return ()
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise BillingError("--then: no task named; write e.g. --then render:pdf,export:xero,send")
    for name in names:
        if name not in TASKS:
            raise BillingError(f"--then: unknown task {name!r}; the tasks are {', '.join(TASKS)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BillingError(f"--then: {', '.join(repeated)} named twice; name each task once")
    return tuple(names)


@dataclass
class TaskRun:
    run_seq: int
    task: str
    ok: bool
    detail: str
    attempt: int
    result: object = None  # the task's own result (a SendResult for send), for its printer

    def as_dict(self) -> dict:
        return {"run_seq": self.run_seq, "task": self.task, "status": "done" if self.ok else "failed",
                "attempt": self.attempt, "detail": self.detail}


@dataclass
class TasksDone:
    runs: list[TaskRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs)


def run_after(workspace: Path, tasks: tuple[str, ...], run_seq: int | None, *, ledger: Path | None = None,
              wait: float = 600) -> TasksDone:
    """Record `tasks` as pending for batch run_seq (None: nothing was issued), then run every pending or
    failed task of these names, oldest batch first, each on its batch's documents."""
    done = TasksDone()
    path = ledger_path(workspace, ledger)
    if not tasks or not path.exists():
        return done
    with open_ledger(path, write=True, wait=wait) as led:
        if run_seq is not None:  # recorded with the batch already (a batch of an older usagebill: now)
            with transaction(led.con, []):
                add_tasks(led, run_seq, tasks)
        due = led.fetch("due_tasks", {"tasks": list(tasks)}).to_pylist()
        numbers = {r["run_seq"]: tuple(led.fetch("run_document_numbers", {"run_seq": r["run_seq"]})
                                       .column("number").to_pylist()) for r in due}
    for row in due:
        seq, task = row["run_seq"], row["task"]
        try:
            ok, detail, result = _perform(workspace, task, seq, numbers[seq], ledger, wait)
        except BillingError as exc:
            ok, detail, result = False, str(exc), None
        with open_ledger(path, write=True, wait=wait) as led, transaction(led.con, []):
            run(led.con, sql("ledger/finish_task"), {"run_seq": seq, "task": task, "status": "done" if ok else "failed",
                                                     "at": dt.datetime.now(dt.UTC), "detail": detail})
        done.runs.append(TaskRun(seq, task, ok, detail, row["attempts"] + 1, result))
    return done


def _perform(workspace: Path, task: str, run_seq: int, numbers: tuple[str, ...], ledger: Path | None,
             wait: float) -> tuple[bool, str, object]:
    """Run one task on one batch's documents: (succeeded, what it did or why not, its result)."""
    if not numbers:
        return True, "the batch issued no documents", None
    kind, _, arg = task.partition(":")
    if kind == "render":
        from .documents.render import render_documents

        out = Path(workspace) / "out" / f"render-{arg}-run-{run_seq}"
        r = render_documents(workspace, arg, numbers=numbers, out=out, ledger=ledger, wait=wait,
                             leave_out_inexpressible=True)
        left = f"; not rendered: {', '.join(s['number'] for s in r.not_rendered)}" if r.not_rendered else ""
        return True, f"{len(r.files)} {arg.upper()} files in {r.out}{left}", r
    if kind == "export":
        from .accounting.export import export_pending

        e = export_pending(workspace, arg, ledger=ledger, wait=wait, only=numbers)
        if e is None:
            return True, f"nothing to export (every document of the batch is in an export of {arg})", None
        return True, f"export {e.manifest['export_id']}: {len(e.documents)} documents in {e.out}", e
    from .send import send_documents

    s = send_documents(workspace, numbers=numbers, ledger=ledger, wait=wait)
    text = f"{len(s.sent)} sent, {len(s.already)} already sent, {len(s.no_email)} without email"
    if not s.ok:
        not_sent = [n for n, _ in s.failed] + s.unsent
        return False, f"{text}; not sent: {', '.join(not_sent)} ({s.failure or s.failed[0][1]})", s
    return True, text, s
