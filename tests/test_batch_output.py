"""Batch commands for cron and scripts: summaries that add up on screen, --quiet, --format json."""
from __future__ import annotations

import json
import re
from decimal import Decimal

from ledger_support import copy_example, usagebill

OCTOBER = ("--from", "2026-10-01", "--to", "2026-11-01")


def test_run_summary_adds_up_on_screen(tmp_path):
    ws = copy_example(tmp_path / "ws")
    p = usagebill("run", ws, *OCTOBER, "--out", tmp_path / "o")
    assert p.returncode == 0, p.stderr
    (line,) = [x for x in p.stdout.splitlines() if x.strip().startswith("USD:")]
    sub, disc, tax, total = (Decimal(v) for v in re.findall(r"(?:subtotal|discount|tax|total)\s+(-?[\d.]+)", line))
    assert sub - disc + tax == total
    # the example's October: initech's 10 % discount of its 66.52 subtotal is 6.65 (hand-computed)
    assert disc == Decimal("6.65")


def test_quiet_prints_nothing_and_json_is_one_document(tmp_path):
    ws = copy_example(tmp_path / "ws")
    quiet = usagebill("nightly", ws, "--as-of", "2026-11-01T12:00:00Z", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    again = usagebill("nightly", ws, "--as-of", "2026-11-01T12:00:00Z", "--format", "json")
    doc = json.loads(again.stdout)
    assert doc["command"] == "nightly" and doc["ledger_run"] is None and doc["out"] is None  # nothing left to issue
    ws2 = copy_example(tmp_path / "ws2")
    issued = json.loads(usagebill("issue", ws2, *OCTOBER, "--format", "json").stdout)
    assert issued["ledger"]["invoices"] == {"count": 4, "first": "HC-1", "last": "HC-4"}
    t = issued["totals"]["USD"]
    assert Decimal(t["subtotal"]) - Decimal(t["discount_total"]) + Decimal(t["tax_total"]) == Decimal(t["total"])
    recon = usagebill("reconcile", ws2, *OCTOBER, "--format", "json")
    assert recon.returncode == 0 and json.loads(recon.stdout)["differ"] == 0
    run = json.loads(usagebill("run", ws2, *OCTOBER, "--out", tmp_path / "o", "-q", "--format", "json").stdout
                     or "null")
    assert run is None  # --quiet wins over --format json
