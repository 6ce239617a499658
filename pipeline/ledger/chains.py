"""What the ledger holds for a billed period: its live invoice and the net of all its documents.

A billed period is (contract_id, period_start), the key `invoice_id` is made from. Its chain is
every document issued for it: the invoice, adjustments, credit notes, replacements. The net is
invoice documents minus credit notes, line by line (line_type, charge_id, group_key); it is what
the customer has been billed for the period, and what `reconcile` compares a re-rating with.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from .store import Ledger

Key = tuple[str, dt.date]  # (contract_id, period_start)
LineKey = tuple[str, str | None, str]  # (line_type, charge_id, group_key)
HEADER_MONEY = ("subtotal", "discount_total", "tax_total", "total")
ZERO = Decimal(0)


@dataclass
class NetLine:
    line_type: str
    charge_id: str | None
    metric_id: str | None
    group_key: str
    description: str
    unit_price: Decimal | None
    quantity: Decimal = ZERO
    amount: Decimal = ZERO

    @property
    def key(self) -> LineKey:
        return self.line_type, self.charge_id, self.group_key


@dataclass
class Chain:
    key: Key
    live: dict | None = None  # the live invoice's header (ledger columns), when the period is issued
    open_numbers: list[str] = field(default_factory=list)  # invoice documents still `issued`
    net: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(HEADER_MONEY, ZERO))
    lines: dict[LineKey, NetLine] = field(default_factory=dict)  # ordered: the live invoice's lines first

    def net_lines(self) -> list[NetLine]:
        return list(self.lines.values())


def key_table(keys: list[Key]) -> pa.Table:
    return pa.table({"contract_id": pa.array([k[0] for k in keys], pa.string()),
                     "period_start": pa.array([k[1] for k in keys], pa.date32())})


def live_invoices(ledger: Ledger, keys: list[Key] | pa.Table) -> dict[Key, dict]:
    """(contract_id, period_start) -> header of its live invoice, for the periods of `keys` that are issued
    (keys: a list, or a table of distinct (contract_id, period_start) such as a run's invoices)."""
    if not len(keys):
        return {}
    scope = keys.select(["contract_id", "period_start"]) if isinstance(keys, pa.Table) else key_table(sorted(set(keys)))
    rows = ledger.fetch("live_invoices", scope_keys_t=scope).to_pylist()
    return {(r["contract_id"], r["period_start"]): r for r in rows}


def live_in_window(ledger: Ledger, first: dt.date, stop: dt.date) -> dict[Key, dict]:
    """The live invoices of the periods ending in (first, stop], by (contract_id, period_start)."""
    rows = ledger.fetch("live_in_window", {"first": first, "stop": stop}).to_pylist()
    return {(r["contract_id"], r["period_start"]): r for r in rows}


def live_periods(ledger: Ledger) -> set[Key]:
    """Every (contract_id, period_start) that has a live invoice (keys only: a ledger of millions reads two columns)."""
    t = ledger.fetch("live_periods")
    return set(zip(t.column("contract_id").to_pylist(), t.column("period_start").to_pylist()))


def chains(ledger: Ledger, keys: list[Key], live: dict[Key, dict] | None = None) -> dict[Key, Chain]:
    """The chain of each billed period in `keys` that has any document (`live`: live_invoices of them, if read)."""
    scope = key_table(sorted(set(keys)))
    live = live_invoices(ledger, keys) if live is None else live
    out: dict[Key, Chain] = {}
    for d in ledger.fetch("chain_documents", scope_keys_t=scope).to_pylist():
        key = (d["contract_id"], d["period_start"])
        chain = out.setdefault(key, Chain(key, live.get(key)))
        for name in HEADER_MONEY:
            chain.net[name] += d["sign"] * d[name]
        if d["series"] == "invoice" and d["status"] == "issued":
            chain.open_numbers.append(d["number"])
    by_key: dict[Key, list[dict]] = {}
    for r in ledger.fetch("chain_lines", scope_keys_t=scope).to_pylist():
        by_key.setdefault((r["contract_id"], r["period_start"]), []).append(r)
    for key, rows in by_key.items():
        chain = out[key]
        if chain.live is not None:  # the live invoice's lines come first, in its order
            for r in rows:
                if r["series"] == "invoice" and r["sequence"] == chain.live["sequence"]:
                    _line(chain, r)
        for r in rows:
            line = _line(chain, r)
            line.quantity += r["sign"] * r["quantity"]
            line.amount += r["sign"] * r["amount"]
    return out


def _line(chain: Chain, r: dict) -> NetLine:
    key = (r["line_type"], r["charge_id"], r["group_key"])
    if key not in chain.lines:
        chain.lines[key] = NetLine(r["line_type"], r["charge_id"], r["metric_id"], r["group_key"], r["description"],
                                   r["unit_price"])
    return chain.lines[key]
