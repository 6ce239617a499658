"""`usagebill export --format csv|xero|quickbooks|netsuite`: issued documents of a window, for accounting.

Reads the ledger (shared lock), never writes it. The folder is written atomically with a
manifest.json naming the files and the totals per currency of what they hold, which equal the
ledger's to the minor unit (tests/test_export_formats.py checks every format against the ledger).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from ..config.workspace import load_workspace
from ..documents.model import Document, load_documents
from ..io import staged_dir, write_bytes
from ..ledger.store import ledger_path, open_ledger
from ..money import format_money
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


def docs_digits(docs: list[Document], currency: str) -> int:
    return next(d.digits for d in docs if d.currency == currency)


def default_out(workspace: Path, fmt: str, first: dt.date | None, stop: dt.date | None) -> Path:
    window = f"-{first or 'start'}-{stop or 'end'}" if first or stop else ""
    return Path(workspace) / "out" / f"export-{fmt}{window}"


def export_documents(workspace: Path, fmt: str, *, first: dt.date | None = None, stop: dt.date | None = None,
                     out: Path | None = None, ledger: Path | None = None, wait: float = 600) -> Exported:
    """Write the issued documents whose issue_date is in [first, stop) in format `fmt` into folder `out`."""
    ws = load_workspace(workspace)
    module = FORMATS[fmt]
    cfg = load_accounting(ws.root, fmt, ws.pricebook.company.country) if fmt != "csv" else None
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        docs = load_documents(led, ws, first=first, stop=stop)
    files = module.files(docs, cfg)
    target = out or default_out(workspace, fmt, first, stop)
    texts = {f.name: f.text().encode("utf-8") for f in files}
    manifest = {
        "format": fmt, "from": first.isoformat() if first else None, "to": stop.isoformat() if stop else None,
        "documents": {"invoices": sum(not d.is_credit_note for d in docs),
                      "credit_notes": sum(d.is_credit_note for d in docs)},
        "totals": totals(docs),
        "files": [{"name": f.name, "documents": f.documents, "rows": len(f.rows),
                   "sha256": hashlib.sha256(texts[f.name]).hexdigest()} for f in files],
    }
    with staged_dir(target) as stage:
        for name, data in texts.items():
            write_bytes(stage / name, data)
        write_bytes(stage / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return Exported(target, files, docs, manifest)
