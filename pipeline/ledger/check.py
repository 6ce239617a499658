"""Ledger integrity: the rules every committed state must keep (sql/ledger/check.sql).

Numbers gapless per series and matching their sequence; headers adding up to their lines and
tax; at most one live invoice per billed period; every reference resolved; nothing billed for a
period without a live invoice; runs numbered 1..n; and the prepaid credit rules
(sql/ledger/credit_check.sql: no grant drawn beyond its amount or outside its dates, no invoice
given more than it asks, no customer credit below zero). `usagebill check-ledger` runs it; so do the
kill and concurrency tests after every interrupted batch.
"""
from __future__ import annotations

from .store import Ledger


def problems(ledger: Ledger) -> list[str]:
    """Every broken rule as `check: detail`; empty when the ledger is sound."""
    from .credits import problems as credit_problems

    return [f"{r['check']}: {r['detail']}" for r in ledger.fetch("check").to_pylist()] + credit_problems(ledger)
