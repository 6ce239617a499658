"""compare: what changed since an earlier run of the same window.

An earlier run is another output folder beside this one (same parent, not hidden) whose
manifest.json has the same command and `arguments`; the most recent one (by its manifest's
modification time) is compared. At run time the folder about to be replaced counts as earlier
too. Invoices are matched by invoice_id (deterministic per contract and period).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ...core.db import sql
from ..ingest import STATUSES
from .data import RunData

SHOWN = 50  # changed invoices listed, largest differences first
COUNTS = ("read", *STATUSES)


def _key(manifest: dict) -> str:
    return json.dumps([manifest.get("command", "run"), manifest.get("arguments")], sort_keys=True)


def _manifest(folder: Path) -> dict | None:
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def earlier_run(folder: Path, manifest: dict, *, include_self: bool) -> Path | None:
    """The latest other output of the same command and arguments beside `folder`, or None.

    include_self: `folder` is about to be replaced (a run writing into it), so its current content
    is an earlier run too; otherwise only folders whose manifest is older than folder's count."""
    folder = Path(folder).resolve()
    parent, key = folder.parent, _key(manifest)
    if not parent.is_dir():
        return None
    own = (folder / "manifest.json").stat().st_mtime_ns if not include_self and (folder / "manifest.json").exists() \
        else None
    found: list[tuple[int, str, Path]] = []
    for other in parent.iterdir():
        if other.name.startswith(".") or not other.is_dir() or (other == folder and not include_self):
            continue
        m = _manifest(other)
        if m is None or _key(m) != key or not (other / "invoices.parquet").exists():
            continue
        mtime = (other / "manifest.json").stat().st_mtime_ns
        if own is None or mtime < own:
            found.append((mtime, other.name, other))
    return max(found)[2] if found else None


@dataclass
class Changes:
    folder: str
    run_id: str
    same_inputs: bool
    counts: list[tuple[str, int, int]] = field(default_factory=list)  # (count, earlier, now) that differ
    totals: list[dict] = field(default_factory=list)  # per currency: earlier, now, delta (where they differ)
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0
    rows: list[dict] = field(default_factory=list)  # the SHOWN largest differences


def changes(now: RunData, earlier: Path) -> Changes:
    """Counts, per-currency totals and the SHOWN largest differences, in one DuckDB pass over both
    runs' invoices (sql/report_changes.sql)."""
    before = _manifest(earlier) or {}
    c = Changes(earlier.name, str(before.get("run_id", "")), before.get("inputs") == now.manifest.get("inputs"))
    old_counts, new_counts = before.get("counts", {}), now.manifest.get("counts", {})
    c.counts = [(k, old_counts.get(k, 0), new_counts.get(k, 0)) for k in COUNTS
                if old_counts.get(k, 0) != new_counts.get(k, 0)]
    con = duckdb.connect()
    try:
        con.register("new_t", now.invoices.select(["invoice_id", "contract_id", "currency", "period_start", "total"]))
        con.execute(f"CREATE TEMP TABLE j AS {sql('report_changes')}", {"earlier": str(earlier / "invoices.parquet")})
        for what, n in con.execute("SELECT what, count(*) FROM j GROUP BY what").fetchall():
            setattr(c, what, n)
        rows = con.execute("SELECT * EXCLUDE (what), what FROM j WHERE what <> 'unchanged' "
                           "ORDER BY abs(delta) DESC, currency, invoice_id LIMIT $n", {"n": SHOWN})
        names = [d[0] for d in rows.description]
        c.rows = [dict(zip(names, r)) for r in rows.fetchall()]
        totals = con.execute("SELECT currency, coalesce(sum(before), 0), coalesce(sum(after), 0) FROM j "
                             "GROUP BY currency ORDER BY currency").fetchall()
    finally:
        con.close()
    c.totals = [{"currency": cur, "before": a, "after": b, "delta": b - a} for cur, a, b in totals if a != b]
    return c
