"""Helpers for the ledger tests: workspaces, the command line, ledger snapshots, late events."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from builders import write_events
from conftest import SCENARIOS

from pipeline.billing.types import RunArgs
from pipeline.ledger.check import problems
from pipeline.ledger.store import open_ledger

CLI = [str(Path(sys.executable).with_name("usagebill"))]
EXAMPLE = SCENARIOS / "example" / "ws"
TABLES = {"invoices": "sequence", "invoice_lines": "invoice_number, line_number", "credit_notes": "sequence",
          "credit_note_lines": "credit_note_number, line_number", "number_sequences": "series",
          "credit_grants": "grant_id", "credit_allocations": "allocation_id"}


def usagebill(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def copy_example(target: Path) -> Path:
    shutil.copytree(EXAMPLE, target)
    return target


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def noon(text: str) -> dt.datetime:
    """12:00 UTC of a day: a nightly as of that day's morning in every zone of the examples (Chicago's
    October ends at 05:00 UTC on Nov 1)."""
    return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12), tzinfo=dt.UTC)


def window(first: str, stop: str, **kw) -> RunArgs:
    return RunArgs(day(first), day(stop), **kw)


def snapshot(ledger: Path, *, runs: bool = True) -> dict[str, list[tuple]]:
    """Every row of the ledger's document tables and sequences (and runs, without wall clock and timings)."""
    with open_ledger(ledger, write=False, wait=30) as led:
        out = {t: led.con.execute(f"SELECT * FROM {t} ORDER BY {order}").fetchall() for t, order in TABLES.items()}
        if runs:
            out["runs"] = led.con.execute("SELECT run_seq, run_id, command, invoices, credit_notes FROM runs "
                                          "ORDER BY run_seq").fetchall()
    return out


def documents(ledger: Path) -> dict[str, list[tuple]]:
    """The documents alone, without the run each came from: equal for one batch or several."""
    with open_ledger(ledger, write=False, wait=30) as led:
        return {t: led.con.execute(f"SELECT * EXCLUDE (run_seq) FROM {t} ORDER BY {TABLES[t]}").fetchall()
                if t in ("invoices", "credit_notes") else
                led.con.execute(f"SELECT * FROM {t} ORDER BY {TABLES[t]}").fetchall()
                for t in TABLES}


def ledger_problems(ledger: Path) -> list[str]:
    with open_ledger(ledger, write=False, wait=30) as led:
        return problems(led)


def rows(ledger: Path, query: str) -> list[dict]:
    with open_ledger(ledger, write=False, wait=30) as led:
        return led.con.sql(query).to_arrow_table().to_pylist()


def add_late_events(ws: Path, name: str, events: list[dict]) -> Path:
    """A new events file (the schema of the workspace's first file) holding events that arrived late."""
    schema = pq.read_schema(next(iter(sorted((ws / "events").rglob("*.parquet")))))
    path = ws / "events" / "late" / f"{name}.parquet"
    write_events(path, events, schema)
    return path
