"""`usagebill export --format csv|xero|quickbooks|netsuite`: issued documents of a window, for accounting.

Reads the ledger (shared lock), never writes it. The folder is written atomically with a
manifest.json naming the files and the totals per currency of what they hold, which equal the
ledger's to the minor unit (tests/test_export_formats.py checks every format against the ledger).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from ...config.workspace import Workspace, load_workspace
from ...core.errors import BillingError
from ...core.io import staged_dir, write_bytes
from ...core.money import format_money
from ...ledger.store import has_exports, ledger_path, open_ledger, record_export
from ..documents.model import Document, load_documents
from . import long_csv, netsuite, quickbooks, xero
from .config import load_accounting
from .files import ExportFile

FORMATS: dict[str, ModuleType] = {"csv": long_csv, "xero": xero, "quickbooks": quickbooks, "netsuite": netsuite}
MONEY = ("subtotal", "discount_total", "tax_total", "total")


@dataclass
class Exported:
    out: Path
    files: list[ExportFile]
    documents: list[Document]
    manifest: dict


def totals(docs: list[Document]) -> dict[str, dict]:
    """Per currency and document type: count and header money, exact."""
    out: dict[str, dict] = {}
    for d in docs:
        s = out.setdefault(d.currency, {}).setdefault(d.document_type, {"count": 0, **{m: Decimal(0) for m in MONEY}})
        s["count"] += 1
        for m in MONEY:
            s[m] += getattr(d, m)
    return {c: {t: {k: v if k == "count" else format_money(v, docs_digits(docs, c)) for k, v in s.items()}
                for t, s in sorted(by_type.items())} for c, by_type in sorted(out.items())}


def prepaid_totals(docs: list[Document]) -> dict[str, dict]:
    """Per currency: invoices that drew prepaid credit at issue, the credit and the amount they ask."""
    out: dict[str, dict] = {}
    for d in docs:
        if d.credits:
            s = out.setdefault(d.currency, {"invoices": 0, "prepaid": Decimal(0), "amount_due": Decimal(0)})
            s["invoices"] += 1
            s["prepaid"] += d.prepaid
            s["amount_due"] += d.amount_due
    return {c: {k: v if k == "invoices" else format_money(v, docs_digits(docs, c)) for k, v in s.items()}
            for c, s in sorted(out.items())}


def docs_digits(docs: list[Document], currency: str) -> int:
    return next(d.digits for d in docs if d.currency == currency)


def default_out(workspace: Path, fmt: str, first: dt.date | None, stop: dt.date | None) -> Path:
    window = f"-{first or 'start'}-{stop or 'end'}" if first or stop else ""
    return Path(workspace) / "out" / f"export-{fmt}{window}"


def export_documents(workspace: Path, fmt: str, *, first: dt.date | None = None, stop: dt.date | None = None,
                     out: Path | None = None, ledger: Path | None = None, wait: float = 600) -> Exported:
    """Write the issued documents whose issue_date is in [first, stop) in format `fmt` into folder `out`."""
    ws = load_workspace(workspace)
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        docs = load_documents(led, ws, first=first, stop=stop)
    manifest = {"format": fmt, "from": first.isoformat() if first else None, "to": stop.isoformat() if stop else None}
    return _write(ws, fmt, docs, out or default_out(workspace, fmt, first, stop), manifest)


def _write(ws: Workspace, fmt: str, docs: list[Document], target: Path, manifest: dict) -> Exported:
    """The files of `docs` in format `fmt` and their manifest.json, published as folder `target`."""
    module = FORMATS[fmt]
    cfg = load_accounting(ws.root, fmt, ws.pricebook.company.country) if fmt != "csv" else None
    files = module.files(docs, cfg)
    texts = {f.name: f.text().encode("utf-8") for f in files}
    manifest = {
        **manifest,
        "documents": {"invoices": sum(not d.is_credit_note for d in docs),
                      "credit_notes": sum(d.is_credit_note for d in docs)},
        "totals": totals(docs),
        "files": [{"name": f.name, "documents": f.documents, "rows": len(f.rows),
                   "sha256": hashlib.sha256(texts[f.name]).hexdigest()} for f in files],
    }
    prepaid = prepaid_totals(docs)
    if prepaid:  # only when some invoice drew credit at issue: exports without credit are as before
        manifest["prepaid_credit"] = prepaid
    with staged_dir(target) as stage:
        for name, data in texts.items():
            write_bytes(stage / name, data)
        write_bytes(stage / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return Exported(target, files, docs, manifest)


# export exactly once (docs/month-end-exports.md) -------------------------------------------------------------

def pending_out(workspace: Path, fmt: str, export_id: int) -> Path:
    return Path(workspace) / "out" / f"export-{fmt}-{export_id}"


def export_pending(workspace: Path, fmt: str, *, out: Path | None = None, ledger: Path | None = None,
                   wait: float = 600, only: tuple[str, ...] | None = None) -> Exported | None:
    """Write every document not yet exported in format `fmt`, then record the export in the ledger.

    The whole export holds the ledger's exclusive lock, so two of them never write the same
    documents; the files are published first and recorded after, in one transaction (a process
    killed in between leaves the documents pending: the next --pending writes them again).
    None when nothing is pending (nothing written, nothing recorded). `only`: of the pending documents,
    just these numbers (a batch's, for `--then export:F`, pipeline/month_end/tasks.py).
    """
    ws = load_workspace(workspace)
    path = ledger_path(workspace, ledger)
    if not path.exists():
        return None
    with open_ledger(path, write=True, wait=wait) as led:
        numbers = tuple(led.fetch("pending_documents", {"format": fmt}).column("number").to_pylist())
        if only is not None:
            numbers = tuple(n for n in numbers if n in set(only))
        if not numbers:
            return None
        docs = load_documents(led, ws, numbers=numbers)
        export_id = led.fetch("next_export_id").column("export_id")[0].as_py()
        target = (out or pending_out(workspace, fmt, export_id)).resolve()
        done = _write(ws, fmt, docs, target, {"format": fmt, "pending": True, "export_id": export_id})
        files = [{"name": f["name"], "sha256": f["sha256"]} for f in done.manifest["files"]]
        recorded = record_export(led, fmt, target, files, [d.number for d in docs])
        assert recorded == export_id, (recorded, export_id)  # under the exclusive lock
    done.manifest["export_id"] = export_id
    return done


def list_exports(workspace: Path, *, ledger: Path | None = None, wait: float = 600) -> list[dict]:
    """The recorded exports, oldest first (files as a list of {name, sha256})."""
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        if not has_exports(led):
            return []
        out = led.fetch("list_exports").to_pylist()
    for r in out:
        r["files"] = json.loads(r["files"])
    return out


def export_again(workspace: Path, export_id: int, *, out: Path | None = None, ledger: Path | None = None,
                 wait: float = 600) -> tuple[Exported, dict, list[str]]:
    """Write export `export_id`'s documents again, in its format, with the statuses they had then.

    Returns the export, its record, and the names of the files whose sha256 differs from the
    recorded one (empty when every file is byte-identical to the first time).
    """
    ws = load_workspace(workspace)
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        record = led.fetch("export_record", {"export_id": export_id}).to_pylist() if has_exports(led) else []
        if not record:
            raise BillingError(f"{led.path}: no export {export_id}; list them with `usagebill export WORKSPACE --list`")
        record = record[0]
        wanted = set(record["numbers"] or [])
        docs = [d for d in load_documents(led, ws) if d.number in wanted]
        then_issued = set(led.fetch("credited_since", {"run_seq": record["run_seq"]}).column("invoice_number")
                          .to_pylist())
    docs = [replace(d, status="issued") if d.number in then_issued else d for d in docs]
    fmt = record["format"]
    done = _write(ws, fmt, docs, out or pending_out(workspace, fmt, export_id),
                  {"format": fmt, "pending": True, "export_id": export_id, "again": True})
    recorded = {f["name"]: f["sha256"] for f in json.loads(record["files"])}
    now = {f["name"]: f["sha256"] for f in done.manifest["files"]}
    differ = sorted(n for n in recorded.keys() | now.keys() if recorded.get(n) != now.get(n))
    return done, record, differ
