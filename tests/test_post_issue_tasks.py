"""`nightly --then` and `issue --then`, through the real command, against a real SMTP server on loopback.

The example workspace as of 2026-11-02 12:00 UTC issues 8 invoices, HC-1 to HC-8, numbered by period_end:
every period closed since each contract's start (acme-1: September and October; initech-1: July to its end
on October 25; globex-1 and umbrella-1: October). Every customer has an email here; they are sent in
number order.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import SCENARIOS
from loopback import SmtpHandler, attachments, mail_workspace, start_smtp

CLI = [str(Path(sys.executable).with_name("usagebill"))]
EMAILS = {"acme": "ap@acme.example", "globex": "ap@globex.example", "initech": "ap@initech.example",
          "umbrella": "ap@umbrella.example"}
NIGHT = ("--as-of", "2026-11-02T12:00:00Z")


def usagebill(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def ledger_rows(ws: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.fixture
def ws(tmp_path):
    return mail_workspace(SCENARIOS / "example" / "ws", tmp_path / "ws", EMAILS, send_ubl=())


def test_nightly_then_render_and_send_delivers_each_invoice_once(ws):
    server = start_smtp()
    try:
        env = {"USAGEBILL_SMTP_URL": server.url}
        first = usagebill(env, "nightly", ws, *NIGHT, "--then", "render:pdf,send")
        assert first.returncode == 0, first.stderr
        numbers = [n for (n,) in ledger_rows(ws, "SELECT invoice_number FROM invoices ORDER BY sequence")]
        assert numbers == [f"HC-{i}" for i in range(1, 9)]
        out = first.stdout.splitlines()
        assert f"then render:pdf (ledger run 1): 8 PDF files in {ws.resolve() / 'out' / 'render-pdf-run-1'}" in out
        assert "then send (ledger run 1): 8 sent, 0 already sent, 0 without email" in out
        received = server.handler.received
        assert sorted(r.message["Subject"].split()[1] for r in received) == sorted(numbers)
        pdfs = ws / "out" / "render-pdf-run-1"
        for r in received:
            number = r.message["Subject"].split()[1]
            assert attachments(r.message) == {f"{number}.pdf": (pdfs / f"{number}.pdf").read_bytes()}
        assert ledger_rows(ws, "SELECT run_seq, task, status, attempts FROM post_issue_tasks ORDER BY task") == [
            (1, "render:pdf", "done", 1), (1, "send", "done", 1)]

        second = usagebill(env, "nightly", ws, *NIGHT, "--then", "render:pdf,send")
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines() == [
            "nightly as of 2026-11-02T12:00:00+00:00: nothing issued; every closed period is issued already"]
        assert len(server.handler.received) == 8
    finally:
        server.stop()


def test_a_server_refusing_mid_batch_leaves_the_rest_for_the_next_night(ws):
    handler = SmtpHandler(refuse_from=4)  # three messages accepted, then 451
    server = start_smtp(handler)
    try:
        env = {"USAGEBILL_SMTP_URL": server.url}
        night = usagebill(env, "nightly", ws, *NIGHT, "--then", "send")
        assert night.returncode == 4, night.stdout + night.stderr
        assert "nightly as of 2026-11-02T12:00:00+00:00: issued 8 invoices (HC-1 to HC-8)" in night.stdout
        error = [x for x in night.stderr.splitlines() if x.startswith("error:")]
        assert error == [
            "error: then send (ledger run 1) failed: 3 sent, 0 already sent, 0 without email; not sent: HC-4, HC-5, "
            f"HC-6, HC-7, HC-8 (smtp://127.0.0.1:{server.port}: the server failed while sending HC-4 (451 4.3.0 try "
            "again later); the documents not sent are sent by the next run); it is retried by the next --then send"]
        assert ledger_rows(ws, "SELECT count(*) FROM invoices") == [(8,)]  # issued whatever the task did
        assert ledger_rows(ws, "SELECT document_number FROM sent_documents ORDER BY document_number") == [
            ("HC-1",), ("HC-2",), ("HC-3",)]
        assert ledger_rows(ws, "SELECT status, attempts FROM post_issue_tasks") == [("failed", 1)]

        handler.refuse_from = None  # the server is back the next night
        next_night = usagebill(env, "nightly", ws, *NIGHT, "--then", "send")
        assert next_night.returncode == 0, next_night.stderr
        assert "then send (ledger run 1, attempt 2): 5 sent, 3 already sent, 0 without email" in next_night.stdout
        assert ledger_rows(ws, "SELECT count(*) FROM invoices") == [(8,)]  # nothing issued again
        got = sorted(r.message["Subject"].split()[1] for r in handler.received)
        assert got == sorted(f"HC-{i}" for i in range(1, 9))  # each invoice once
        assert ledger_rows(ws, "SELECT status, attempts FROM post_issue_tasks") == [("done", 2)]

        third = usagebill(env, "nightly", ws, *NIGHT, "--then", "send")
        assert third.returncode == 0 and "then send" not in third.stdout
        assert len(handler.received) == 8
    finally:
        server.stop()


def test_issue_then_export_records_the_export_so_pending_finds_nothing_more(ws):
    p = usagebill({}, "issue", ws, "--from", "2026-10-01", "--to", "2026-11-01", "--then", "export:xero,render:ubl")
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert any(x.startswith("then export:xero (ledger run 1): export 1: 4 documents in ") for x in out)
    assert sorted(f.name for f in (ws / "out" / "render-ubl-run-1").iterdir()) == [
        "HC-1.xml", "HC-2.xml", "HC-3.xml", "HC-4.xml", "manifest.json"]
    pending = usagebill({}, "export", ws, "--format", "xero", "--pending")
    assert pending.returncode == 0
    assert pending.stdout.startswith("export xero --pending: nothing to export")


def test_a_bad_then_stops_before_anything_is_issued(ws):
    p = usagebill({}, "nightly", ws, *NIGHT, "--then", "render:pdf,mail")
    assert p.returncode == 1
    assert p.stderr.splitlines()[-1].startswith("error: --then: unknown task 'mail'; the tasks are render:pdf,")
    assert not (ws / "ledger.duckdb").exists()


def test_json_output_carries_the_tasks(ws):
    server = start_smtp()
    try:
        p = usagebill({"USAGEBILL_SMTP_URL": server.url}, "nightly", ws, *NIGHT, "--then", "send", "--format", "json")
        assert p.returncode == 0, p.stderr
        import json

        doc = json.loads(p.stdout)
        assert doc["tasks"] == [{"run_seq": 1, "task": "send", "status": "done", "attempt": 1,
                                 "detail": "8 sent, 0 already sent, 0 without email"}]
    finally:
        server.stop()


def test_a_batch_killed_right_after_its_commit_still_has_its_tasks(ws):
    """The pending rows commit with the batch: killed before any task ran, the next night sends everything."""
    crash = [sys.executable, str(Path(__file__).with_name("crash_at.py")), "pipeline.ledger.issue:run_documents", "1",
             "before", "--"]
    killed = subprocess.run(crash + ["nightly", str(ws), *NIGHT, "--then", "send"], capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == -9, killed.stderr  # SIGKILL just after the commit
    assert ledger_rows(ws, "SELECT count(*) FROM invoices") == [(8,)]
    assert ledger_rows(ws, "SELECT run_seq, task, status, attempts FROM post_issue_tasks") == [(1, "send", "pending",
                                                                                                0)]
    server = start_smtp()
    try:
        again = usagebill({"USAGEBILL_SMTP_URL": server.url}, "nightly", ws, *NIGHT, "--then", "send")
        assert again.returncode == 0, again.stderr
        assert "nothing issued" in again.stdout  # not issued again, and still sent
        assert "then send (ledger run 1): 8 sent, 0 already sent, 0 without email" in again.stdout
        assert len(server.handler.received) == 8
    finally:
        server.stop()
