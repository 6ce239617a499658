"""`usagebill render --format pdf|ubl`: one file per issued document, named by its number.

Documents come from the ledger (shared lock; never written): those issued in [--from, --to), or
those named by --invoice (invoice or credit note numbers). UBL documents are validated against
the UBL 2.1 XSD and the EN 16931 schematron before anything is written: one failure stops the
command, naming the document and the rule. The folder is written atomically, with a
manifest.json listing every file and its sha256.

EN 16931 allows amounts with at most 2 decimals (rules BR-DEC-*), so a document in a currency of
3 minor digits (KWD, BHD, OMR, ...) has no conforming UBL without changing its amounts: a window
render leaves such documents out, listing them in the manifest (`not_rendered`) and on stderr;
naming one with --invoice is an error. Their PDFs are rendered as usual.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ...config.workspace import Workspace, load_workspace
from ...core.errors import BillingError
from ...core.io import staged_dir
from ...ledger.store import ledger_path, open_ledger
from .model import Document, load_documents
from .names import file_names

PARALLEL_FROM = 200  # documents; below this a process pool costs more than it saves


UBL_MAX_DIGITS = 2  # EN 16931 BR-DEC-*: at most 2 decimals in every amount


@dataclass
class Rendered:
    out: Path
    documents: list[Document]
    files: list[str]
    seconds: float
    not_rendered: list[dict] = field(default_factory=list)  # number, currency, reason


_WORKSPACE: Workspace | None = None  # set in each worker once, not sent with every document


def _set_workspace(ws: Workspace | None) -> None:
    global _WORKSPACE
    _WORKSPACE = ws


def _pdf(doc: Document) -> bytes:
    from .pdf import render_pdf

    return render_pdf(doc, _WORKSPACE)


def _ubl(doc: Document) -> bytes:
    from .ubl import build
    from .validate import problems

    xml = build(doc)
    found = problems(doc.number, xml)
    if found:
        shown = "; ".join(str(p) for p in found[:3])
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise BillingError(f"UBL of {doc.number} fails EN 16931 validation: {shown}{more}; nothing was written")
    return xml


def _map(fn, items: list, workers: int, ws: Workspace) -> list[bytes]:
    if workers <= 1 or len(items) < PARALLEL_FROM:
        _set_workspace(ws)
        return [fn(x) for x in items]
    with ProcessPoolExecutor(max_workers=workers, initializer=_set_workspace, initargs=(ws,)) as pool:
        return list(pool.map(fn, items, chunksize=max(1, len(items) // (workers * 4))))


def default_folder(fmt: str, first: dt.date | None, stop: dt.date | None, numbers: tuple[str, ...]) -> str:
    """render-<format>-<from>-<to> (one folder per window, so November's render never replaces
    October's), render-<format>-<numbers> for named documents, render-<format> for everything."""
    if numbers:
        return f"render-{fmt}-" + "-".join(sorted(numbers))[:100]
    if first or stop:
        return f"render-{fmt}-{first or 'start'}-{stop or 'end'}"
    return f"render-{fmt}"


def render_documents(workspace: Path, fmt: str, *, numbers: tuple[str, ...] = (), first: dt.date | None = None,
                     stop: dt.date | None = None, out: Path | None = None, ledger: Path | None = None,
                     wait: float = 600, workers: int | None = None, leave_out_inexpressible: bool = False) -> Rendered:
    """leave_out_inexpressible: named documents that UBL cannot express are left out and listed, as in a
    window render, instead of an error (a batch's documents, `--then render:ubl`)."""
    import time

    start = time.perf_counter()
    ws = load_workspace(workspace)
    with open_ledger(ledger_path(workspace, ledger), write=False, wait=wait) as led:
        docs = load_documents(led, ws, first=first, stop=stop, numbers=numbers)
    skipped = []
    if fmt == "ubl":
        docs, skipped = _ubl_expressible(docs, named=bool(numbers) and not leave_out_inexpressible)
    suffix = ".pdf" if fmt == "pdf" else ".xml"
    names = file_names([d.number for d in docs], suffix)
    workers = workers or min(os.cpu_count() or 1, 8)
    blobs = _map(_pdf if fmt == "pdf" else _ubl, docs, workers, ws)
    target = out or Path(workspace) / "out" / default_folder(fmt, first, stop, numbers)
    manifest = {"format": fmt, "from": first.isoformat() if first else None, "to": stop.isoformat() if stop else None,
                "documents": [{"number": d.number, "file": n, "sha256": hashlib.sha256(b).hexdigest()}
                              for d, n, b in zip(docs, names, blobs)]}
    if skipped:
        manifest["not_rendered"] = skipped
    with staged_dir(target) as stage:
        for name, blob in zip(names, blobs):
            (stage / name).write_bytes(blob)
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Rendered(target, docs, names, time.perf_counter() - start, skipped)


def _ubl_expressible(docs: list[Document], named: bool) -> tuple[list[Document], list[dict]]:
    """The documents EN 16931 can express, and the others with the reason (named: an error)."""
    reason = (f"EN 16931 allows at most {UBL_MAX_DIGITS} decimals in an amount (BR-DEC-*) and this currency has "
              "{digits}; its PDF is the invoice")
    out = [{"number": d.number, "currency": d.currency, "reason": reason.format(digits=d.digits)}
           for d in docs if d.digits > UBL_MAX_DIGITS]
    if out and named:
        first = out[0]
        raise BillingError(f"--invoice {first['number']}: no EN 16931 UBL for a document in {first['currency']}: "
                           f"{first['reason']} (usagebill render --format pdf --invoice {first['number']})")
    return [d for d in docs if d.digits <= UBL_MAX_DIGITS], out
