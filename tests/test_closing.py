"""Closing by instant: nightly issues a period only once it has ended in its customer's zone (plus grace);
a future as-of and an open period are refused; billed_through skips what a previous system billed."""
from __future__ import annotations

import datetime as dt

import pytest
from builders import workspace
from ledger_support import rows, usagebill

from pipeline.core.errors import BillingError
from pipeline.ledger.closing import GRACE_DEFAULT, parse_as_of, parse_grace

ZONES = {"la": "America/Los_Angeles", "berlin": "Europe/Berlin", "auckland": "Pacific/Auckland"}


def make(tmp_path, contracts_extra: dict | None = None):
    customers = [{"customer_id": c, "name": c.title(), "country": "US", "timezone": tz} for c, tz in ZONES.items()]
    contracts = [{"contract_id": f"k-{c}", "customer_id": c, "plan_id": "p", "start_date": "2026-09-01",
                  **(contracts_extra or {}).get(c, {})} for c in ZONES]
    return workspace(tmp_path / "ws", metrics=[], charges=[{"id": "fee", "model": "flat", "amount": 10}],
                     events=[], customers=customers, contracts=contracts)


def issued(ws) -> list[tuple[str, str]]:
    return sorted((r["contract_id"], r["period_start"].isoformat())
                  for r in rows(ws / "ledger.duckdb", "SELECT contract_id, period_start FROM invoices"))


def nightly(ws, *args: str):
    p = usagebill("nightly", str(ws), *args)
    assert p.returncode == 0, p.stderr
    return p


def test_october_closes_zone_by_zone(tmp_path):
    ws = make(tmp_path)
    # October ends: Auckland 2026-10-31T11:00Z (NZDT +13), Berlin 2026-10-31T23:00Z (CET, after the
    # DST change of Oct 25), Los Angeles 2026-11-01T07:00Z (PDT, DST ends Nov 1 at 2am local)
    nightly(ws, "--as-of", "2026-11-01T02:15:00+00:00")
    october = [("k-auckland", "2026-10-01"), ("k-berlin", "2026-10-01")]
    september = [(f"k-{c}", "2026-09-01") for c in ZONES]
    assert issued(ws) == sorted(september + october)
    nightly(ws, "--as-of", "2026-11-01T06:59:59Z", "--grace", "0")
    assert ("k-la", "2026-10-01") not in issued(ws)
    nightly(ws, "--as-of", "2026-11-01T09:00:00Z", "--grace", "0")
    assert ("k-la", "2026-10-01") in issued(ws)
    again = nightly(ws, "--as-of", "2026-11-01T09:00:00Z")
    assert "nothing issued" in again.stdout


def test_grace_waits_after_the_end(tmp_path):
    ws = make(tmp_path)
    nightly(ws, "--as-of", "2026-11-01T08:59:00Z", "--grace", "2h")  # LA ends 07:00Z: closes at 09:00Z
    assert ("k-la", "2026-10-01") not in issued(ws)
    nightly(ws, "--as-of", "2026-11-01T09:00:00Z", "--grace", "2h")
    assert ("k-la", "2026-10-01") in issued(ws)


def test_a_date_as_of_is_its_midnight_utc(tmp_path):
    ws = make(tmp_path)
    nightly(ws, "--as-of", "2026-11-01")
    # midnight UTC: Auckland's and Berlin's October have ended (11:00Z and 23:00Z), LA's has not
    assert ("k-berlin", "2026-10-01") in issued(ws) and ("k-la", "2026-10-01") not in issued(ws)


def test_a_future_as_of_is_refused_unless_allowed(tmp_path):
    ws = make(tmp_path)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=90)).date().isoformat()
    p = usagebill("nightly", str(ws), "--as-of", future)
    assert p.returncode == 1 and "is after the clock" in p.stderr and "--allow-future" in p.stderr
    assert not (ws / "ledger.duckdb").exists()
    nightly(ws, "--as-of", future, "--allow-future")
    assert len(issued(ws)) >= 6


def test_issue_refuses_a_period_that_has_not_ended(tmp_path):
    ws = make(tmp_path)
    today = dt.datetime.now(dt.UTC).date()
    first = today.replace(day=1)
    stop = (first + dt.timedelta(days=32)).replace(day=1)
    p = usagebill("issue", str(ws), "--from", first.isoformat(), "--to", stop.isoformat())
    assert p.returncode == 1 and "has not ended yet" in p.stderr and "--allow-open" in p.stderr
    assert "contract k-auckland" in p.stderr  # the first to close names itself
    assert not (ws / "ledger.duckdb").exists()
    p = usagebill("issue", str(ws), "--from", first.isoformat(), "--to", stop.isoformat(), "--allow-open")
    assert p.returncode == 0, p.stderr


def test_billed_through_skips_what_a_previous_system_billed(tmp_path):
    ws = make(tmp_path, {"la": {"billed_through": "2026-09-30"}})
    nightly(ws, "--as-of", "2026-11-02")
    assert [k for k in issued(ws) if k[0] == "k-la"] == [("k-la", "2026-10-01")]
    assert ("k-berlin", "2026-09-01") in issued(ws)
    recon = usagebill("reconcile", str(ws), "--from", "2026-09-01", "--to", "2026-11-01")
    assert recon.returncode == 0 and "0 differ" in recon.stdout, recon.stdout  # LA's September is not reported


def test_workspace_wide_billed_through(tmp_path):
    ws = make(tmp_path)
    (ws / "settings.yaml").write_text("billed_through: 2026-09-30\n")
    nightly(ws, "--as-of", "2026-11-02")
    assert issued(ws) == [(f"k-{c}", "2026-10-01") for c in sorted(ZONES)]


def test_nightly_can_be_limited_to_contracts_and_customers(tmp_path):
    ws = make(tmp_path)
    nightly(ws, "--as-of", "2026-11-02", "--contract", "k-la", "--customer", "berlin")
    assert {k for k, _ in issued(ws)} == {"k-la", "k-berlin"}
    p = usagebill("nightly", str(ws), "--as-of", "2026-11-02", "--contract", "nope")
    assert p.returncode == 1 and "--contract nope: no such contract" in p.stderr


@pytest.mark.parametrize("text, seconds", [("0", 0), ("30m", 1800), ("6h", 21600), ("2d", 172800), ("90", 90)])
def test_grace_durations(text, seconds):
    assert parse_grace(text, True) == dt.timedelta(seconds=seconds)


def test_grace_defaults_and_as_of_forms():
    assert parse_grace(None, given_as_of=False) == GRACE_DEFAULT == dt.timedelta(hours=1)
    assert parse_grace(None, given_as_of=True) == dt.timedelta(0)
    assert parse_as_of("2026-11-01") == (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), True)
    assert parse_as_of("2026-11-01T03:15:00+01:00")[0] == dt.datetime(2026, 11, 1, 2, 15, tzinfo=dt.UTC)
    with pytest.raises(BillingError, match="needs its zone"):
        parse_as_of("2026-11-01T02:15:00")
    with pytest.raises(BillingError, match="not a duration"):
        parse_grace("soon", True)


def test_render_without_out_keeps_one_folder_per_window(tmp_path):
    from ledger_support import copy_example
    ws = copy_example(tmp_path / "ex")
    nightly(ws, "--as-of", "2026-11-01T12:00:00Z")
    for first, stop in (("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01")):
        p = usagebill("render", str(ws), "--format", "pdf", "--from", first, "--to", stop)
        assert p.returncode == 0, p.stderr
    october = ws / "out" / "render-pdf-2026-10-01-2026-11-01"
    november = ws / "out" / "render-pdf-2026-11-01-2026-12-01"
    assert october.is_dir() and november.is_dir()  # November's render did not replace October's
    assert sorted(p.name for p in november.glob("*.pdf"))  # the four October invoices, issued on Nov 1
