"""The billing chain's shared types: a run's arguments, what it produced (`Bill`), its stage timings.

A leaf module: the CLI, the report, the Pandera checks and the Dask engine take a `Bill` without
importing the orchestrator (pipeline/billing/run.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from .. import __version__
from ..core.money import format_money

if TYPE_CHECKING:
    from .invoice import Invoice

DEDUP_WINDOW_DAYS = 34


@dataclass(frozen=True)
class RunArgs:
    first_day: dt.date
    stop_day: dt.date
    contracts: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    dedup_window_days: int = DEDUP_WINDOW_DAYS
    events: str | None = None  # --events: where the events are, instead of settings.yaml's or events/

    def as_dict(self) -> dict:
        out = {"from": self.first_day.isoformat(), "to": self.stop_day.isoformat(),
               "contracts": sorted(self.contracts), "customers": sorted(self.customers),
               "dedup_window_days": self.dedup_window_days}
        if self.events is not None:  # only when given: arguments (and run ids) without it stay as they were
            out["events"] = self.events
        return out


@dataclass
class Part:
    """What one rating produced before it is a whole run: a shard's share (pipeline/scale_out/merge.py
    joins them) or a local run's tables before `finished` gives them their inputs, run_id, warnings
    and checks. No run identity: a Part is never written."""

    args: RunArgs
    counts: dict[str, int]
    invoices: pa.Table
    lines: pa.Table
    usage: pa.Table
    quarantine: pa.Table
    digits: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    invoice_objects: list[Invoice] = field(default_factory=list)
    daily_usage: pa.Table | None = None


@dataclass
class Bill:
    """Everything one whole run produced, checked, before it is written."""

    run_id: str
    args: RunArgs
    inputs: dict[str, str]
    counts: dict[str, int]
    invoices: pa.Table
    lines: pa.Table
    usage: pa.Table
    quarantine: pa.Table
    digits: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    invoice_objects: list[Invoice] = field(default_factory=list)
    daily_usage: pa.Table | None = None  # billed events per UTC day and metric (pipeline/billing/daily.py)
    warnings: list[dict] = field(default_factory=list)  # {code, message}, sorted (pipeline/billing/preflight.py)
    _totals: tuple | None = field(default=None, init=False, repr=False, compare=False)  # (invoices, totals)

    def totals(self) -> dict[str, dict[str, str | int]]:
        """Invoices and money sums per currency: one Arrow aggregate (exact: the sums are taken in
        DECIMAL(76, 4), so no sum overflows), kept while the invoices table is the same object."""
        if self._totals is not None and self._totals[0] is self.invoices:
            return self._totals[1]
        money = ("subtotal", "discount_total", "tax_total", "total")
        wide = pa.table({"currency": self.invoices["currency"],
                         **{k: pc.cast(self.invoices[k], pa.decimal256(76, 4)) for k in money}})
        sums = wide.group_by("currency").aggregate([([], "count_all"), *((k, "sum") for k in money)]).to_pylist()
        out = {r["currency"]: {"invoices": r["count_all"], **{k: format_money(r[f"{k}_sum"], self.digits[r["currency"]])
                                                              for k in money}}
               for r in sorted(sums, key=lambda r: r["currency"])}
        self._totals = (self.invoices, out)
        return out

    def manifest(self) -> dict:
        return {"run_id": self.run_id, "usagebill_version": __version__, "arguments": self.args.as_dict(),
                "inputs": self.inputs, "counts": self.counts, "totals": self.totals(), "warnings": self.warnings,
                "outputs": {"invoices": self.invoices.num_rows, "invoice_lines": self.lines.num_rows,
                            "usage": self.usage.num_rows, "quarantine": self.quarantine.num_rows},
                "seconds": {k: round(v, 3) for k, v in self.timings.items()}}


class Stopwatch:
    def __init__(self, progress: Callable[[str], None] | None = None):
        self.timings: dict[str, float] = {}
        self.progress = progress or (lambda _msg: None)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.progress(name)
        start = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - start


def run_id(args: RunArgs, inputs: dict[str, str]) -> str:
    blob = json.dumps({"version": __version__, "args": args.as_dict(), "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
