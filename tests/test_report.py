"""report.html: written by every run, self-contained, deterministic, escaped, with charts a browser draws.

The browser test opens the page in Debian's headless chromium (`make browser` installs it): a
screenshot, and the rendered DOM holding the inline SVG charts. Rendering time is measured on a
synthetic 30,000-invoice run.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import ev, workspace, write_events
from conftest import SCENARIOS, run_bill

from pipeline.billing import emit
from pipeline.billing.report import NAME, render, rerender
from pipeline.billing.report.data import RunData
from pipeline.billing.run import write_outputs

USAGEBILL = str(Path(sys.executable).with_name("usagebill"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MIXED = SCENARIOS / "mixed" / "ws"


@pytest.fixture(scope="module")
def mixed_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "runs" / "october"
    write_outputs(run_bill(MIXED), out)
    return out


def test_a_run_writes_the_report_and_daily_usage(mixed_out):
    html = (mixed_out / NAME).read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and html.count("<svg") >= 10
    for section in ("Totals by currency", "By plan", "By charge", "Top customers", "Daily usage per metric",
                    "Quarantine", "Largest invoices", "What changed", "First run of this window"):
        assert section in html, section
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched from the network
    assert "<script" not in html
    daily = pq.read_table(mixed_out / "daily_usage.parquet")
    usage = pq.read_table(mixed_out / "usage.parquet").to_pylist()
    for metric in ("m_count", "m_sum", "m_pay", "m_uniq"):  # each counted by one charge per plan
        per_day = sum(r["events"] for r in daily.to_pylist() if r["metric_id"] == metric)
        assert per_day == sum(r["events"] for r in usage if r["metric_id"] == metric), metric
    sums = [r for r in daily.to_pylist() if r["metric_id"] == "m_sum"]
    assert sum(r["quantity"] for r in sums) == sum(r["quantity"] for r in usage if r["metric_id"] == "m_sum")


def test_same_inputs_same_bytes_and_rerender(mixed_out, tmp_path):
    again = tmp_path / "elsewhere" / "october"
    write_outputs(run_bill(MIXED), again)
    assert (again / NAME).read_bytes() == (mixed_out / NAME).read_bytes()
    (again / NAME).unlink()
    rerender(again)
    assert (again / NAME).read_bytes() == (mixed_out / NAME).read_bytes()


def test_what_changed_since_the_earlier_run_of_the_window(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(SCENARIOS / "example" / "ws", ws)
    first = subprocess.run([USAGEBILL, "run", str(ws), "--from", "2026-10-01", "--to", "2026-11-01"],
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    (first_dir,) = (ws / "out").iterdir()
    assert "First run of this window" in (first_dir / NAME).read_text()
    customer = pq.read_table(first_dir / "invoices.parquet").column("customer_id")[0].as_py()
    write_events(ws / "events" / "late.parquet", [ev(f"late-{i}", "2026-10-20T12:00", "api_call", customer)
                                                  for i in range(50)])
    p = subprocess.run([USAGEBILL, "run", str(ws), "--from", "2026-10-01", "--to", "2026-11-01"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    (second_dir,) = [d for d in (ws / "out").iterdir() if d != first_dir]
    html = (second_dir / NAME).read_text()
    assert f"Compared with the earlier run <b>{first_dir.name}</b>" in html and "(input files differ)" in html
    assert "read" in html and "invoices changed" in html
    # re-rendered, the earlier run is still the one beside it; --compare names another
    rerender(second_dir)
    assert f"<b>{first_dir.name}</b>" in (second_dir / NAME).read_text()
    rerender(first_dir, compare=second_dir)
    assert f"<b>{second_dir.name}</b>" in (first_dir / NAME).read_text()
    # --no-report: no page
    p = subprocess.run([USAGEBILL, "run", str(ws), "--from", "2026-09-01", "--to", "2026-10-01", "--no-report",
                        "--out", str(tmp_path / "plain")], capture_output=True, text=True)
    assert p.returncode == 0 and not (tmp_path / "plain" / NAME).exists()
    p = subprocess.run([USAGEBILL, "report", str(tmp_path / "plain")], capture_output=True, text=True)
    assert p.returncode == 0 and (tmp_path / "plain" / NAME).exists()


def test_every_user_string_is_escaped(tmp_path):
    evil = "<script>alert('x')</script>"
    ws = workspace(tmp_path / "ws", metrics=[{"id": "calls", "event_type": "call", "aggregation": "count",
                                              "group_by": ["region"]}],
                   charges=[{"id": "calls", "metric": "calls", "model": "per_unit", "unit_price": 1}],
                   customers=[{"customer_id": evil, "name": evil, "country": "US"}],
                   contracts=[{"contract_id": f"k{evil}", "customer_id": evil, "plan_id": "p",
                               "start_date": "2026-10-01"}],
                   events=[ev("e1", "2026-10-02T10:00", "call", evil, region=evil),
                           ev(evil, "2026-10-02T10:00", "call", "<img src=x onerror=alert(1)>", region="eu"),
                           ev("e3", "2026-10-03T10:00", evil, evil)])
    out = tmp_path / "out"
    write_outputs(run_bill(ws), out)
    html = (out / NAME).read_text()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def synthetic(n_invoices: int = 30_000) -> RunData:
    """A run's tables without rating: 30,000 invoices of 2,000 customers, 8 lines each, 5 currencies."""
    rng = random.Random(5)
    currencies = ["EUR", "GBP", "JPY", "KWD", "USD"]
    inv = {k: [] for k in emit.INVOICE_SCHEMA.names}
    lines = {k: [] for k in emit.LINE_SCHEMA.names}
    for i in range(n_invoices):
        cur = currencies[i % 5]
        amounts = [Decimal(rng.randrange(0, 100000)) / 100 for _ in range(8)]
        total = sum(amounts)
        row = {"invoice_id": f"in_{i:024d}", "invoice_number": None, "status": "draft", "customer_id": f"c{i % 2000}",
               "contract_id": f"k{i}", "plan_id": f"plan{i % 7}", "currency": cur, "period_start": dt.date(2026, 10, 1),
               "period_end": dt.date(2026, 11, 1), "issue_date": dt.date(2026, 11, 1), "due_date": dt.date(2026, 12, 1),
               "subtotal": total, "discount_total": Decimal(0), "tax_percent": Decimal(0), "tax_note": "",
               "tax_name": "", "tax_total": Decimal(0), "total": total}
        for k, v in row.items():
            inv[k].append(v)
        for n, a in enumerate(amounts):
            line = {"invoice_id": row["invoice_id"], "line_number": n + 1, "line_type": "usage",
                    "charge_id": f"charge{n}", "metric_id": f"m{n}", "group_key": "", "description": "",
                    "quantity": Decimal(1), "unit_price": None, "amount": a, "currency": cur,
                    "service_start": row["period_start"], "service_end": row["period_end"]}
            for k, v in line.items():
                lines[k].append(v)
    days = [dt.date(2026, 10, 1) + dt.timedelta(days=d) for d in range(31)]
    daily = pa.table({"day": [d for m in range(8) for d in days],
                      "metric_id": [f"m{m}" for m in range(8) for _ in days],
                      "events": [rng.randrange(1000) for _ in range(8 * 31)],
                      "quantity": pa.array([None] * (8 * 31), pa.decimal128(38, 9))})
    manifest = {"run_id": "synthetic", "usagebill_version": "0", "arguments": {"from": "2026-10-01",
                                                                               "to": "2026-11-01"},
                "counts": {"read": 10, "billed": 10}}
    return RunData(manifest, pa.table(inv, schema=emit.INVOICE_SCHEMA).select(
        ["invoice_id", "customer_id", "contract_id", "plan_id", "currency", "period_start", "period_end", "subtotal",
         "discount_total", "tax_total", "total"]),
        pa.table(lines, schema=emit.LINE_SCHEMA).select(["currency", "line_type", "charge_id", "amount"]), daily,
        lambda: iter(()))


def test_a_30k_invoice_run_keeps_a_bounded_page():
    """Charts are capped (CHARTED_CURRENCIES, CHARTED_METRICS, TOP), so a big run gives a page of the
    same shape; its render time is in every run's manifest (timings.report) and in BENCHMARKS.md."""
    html = render(synthetic())
    assert html.count("<svg") == 4 * 3 + 8
    assert len(html) < 2_000_000, len(html)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make browser` installs it)")
def test_the_report_in_a_real_browser(mixed_out, tmp_path):
    url = (mixed_out / NAME).resolve().as_uri()
    shot = Path(os.environ.get("USAGEBILL_SCREENSHOT", tmp_path / "report.png"))
    # offline: no background fetches (this machine's closed network refuses them, many at a time)
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000"]
    p = subprocess.run([*base, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and shot.exists(), p.stderr
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000  # a drawn page, not a blank one
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 2000)
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    charts = re.findall(r"<svg[^>]*>", dom)
    assert len(charts) >= 10, len(charts)
    for title in ("Amount by charge (GBP)", "Top 3 customers by total (GBP)", "m_count: billed events per day",
                  "Quarantined events by reason"):
        assert f"<title>{title}</title>" in dom, title
    assert len(re.findall(r'<rect[^>]*class="rect reactive tooltip-trigger"', dom)) > 20  # the bars were drawn


def test_largest_and_top_are_the_first_rows_of_a_full_sort():
    """Each currency's ten first rows, picked by select_k and then sorted, are those of sorting every row
    by (total descending, id ascending): many ties in the totals, fewer rows than ten in one currency."""
    from pipeline.billing.report import data

    rng = random.Random(5)
    n = 3_000
    t = pa.table({"currency": [rng.choice(["USD", "EUR", "JPY"]) for _ in range(n - 4)] + ["KWD"] * 4,
                  "invoice_id": [f"in_{rng.randrange(10**9):09d}_{i}" for i in range(n)],
                  "customer_id": [f"c{rng.randrange(400)}" for _ in range(n)],
                  "total": pa.array([Decimal(rng.randrange(-3, 40)) / 4 for _ in range(n)], emit.MONEY)})
    order = [("total", "descending"), ("invoice_id", "ascending")]
    every = t.sort_by(order).to_pylist()
    expected = {c: [r for r in every if r["currency"] == c][:10] for c in ("EUR", "JPY", "KWD", "USD")}
    assert data._first_per_currency(t, order, 10) == expected
    assert len(expected["KWD"]) == 4

    class Run:
        invoices = t
    top = data.top_customers(Run)
    sums: dict = {}
    for r in t.to_pylist():
        key = (r["currency"], r["customer_id"])
        total, count = sums.get(key, (Decimal(0), 0))
        sums[key] = (total + r["total"], count + 1)
    for currency, rows in top.items():
        ranked = sorted(((-s, k[1], c) for k, (s, c) in sums.items() if k[0] == currency))[:10]
        assert [(r["customer_id"], r["total"], r["count"]) for r in rows] == [(k, -s, c) for s, k, c in ranked]
