"""The ledger with real processes: kill -9 at random moments, and two batches started together.

A killed batch leaves the ledger exactly as before it or as after it (same rows, numbers gapless,
every invoice whole, prepaid credit drawn in full or not at all), and its output folder only exists
when the ledger is in the after state. Two batches on one ledger take turns: nothing is issued
twice, no number is used twice, no credit is drawn twice.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from ledger_support import CLI, ledger_problems, rows, snapshot, usagebill
from tools.generate import main as generate

from pipeline.ledger.lock import POLL_SECONDS, ledger_lock, lock_path

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("USAGEBILL_KILLS", "9"))  # spread over the three scenarios
NIGHTLY = ["nightly", "{ws}", "--as-of", "2026-11-01T12:00:00Z"]
REISSUE = ["issue", "{ws}", "--from", "2026-10-01", "--to", "2026-11-01", "--reissue", "--issue-date", "2026-11-05"]


@dataclass
class Scenario:
    name: str
    start: Path | None  # folder holding the ledger files to start from (None: no ledger yet)
    command: list[str]
    before: dict | None = None  # snapshot of the start state
    end: dict | None = None  # snapshot after an uninterrupted batch
    end_ledger: Path | None = None  # the ledger it left
    seconds: float = 0.0  # how long the uninterrupted batch took
    after_commit: float = 0.0  # from its "commit" progress line to its exit


class Batch:
    """A usagebill subprocess whose progress lines (stderr) are watched, to kill it at a chosen moment."""

    def __init__(self, command: list[str], ws: Path, ledger: Path, out: Path):
        args = [a.format(ws=ws) for a in command] + ["--ledger", str(ledger), "--out", str(out)]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.committing = threading.Event()
        self.commit_at: float | None = None
        self.stderr: list[str] = []
        self.stdout = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.rstrip().endswith("] commit"):
                self.commit_at = time.monotonic()
                self.committing.set()

    def wait(self) -> int:
        self.stdout = self.proc.stdout.read()
        rc = self.proc.wait(timeout=120)
        self._reader.join(timeout=10)
        return rc

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)


def place(start: Path | None, folder: Path) -> Path:
    """A fresh folder holding a copy of the start state's ledger files; returns the ledger path."""
    folder.mkdir(parents=True)
    if start is not None:
        for f in start.iterdir():
            shutil.copy2(f, folder / f.name)
    return folder / "ledger.duckdb"


def state(ledger: Path) -> dict:
    return snapshot(ledger)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A generated workspace large enough that a batch takes a moment (~1000 invoices since 2025)."""
    root = tmp_path_factory.mktemp("safety")
    generate([str(root / "ws"), "--customers", "70", "--events", "20000", "--seed", "11"])
    return root / "ws"


@pytest.fixture(scope="module")
def scenarios(big, tmp_path_factory) -> list[Scenario]:
    """Three batches and their uninterrupted results: a first nightly from nothing, a catch-up nightly
    on a ledger holding everything up to September, and a reissue of October (credit notes + updates)."""
    root = tmp_path_factory.mktemp("states")
    september = root / "september"
    ref = Batch(["nightly", "{ws}", "--as-of", "2026-10-01T12:00:00Z"], big, place(None, september), root / "o-sep")
    assert ref.wait() == 0, ref.stderr
    with_credit(big, september / "ledger.duckdb", root)
    out = [Scenario("first nightly", None, NIGHTLY), Scenario("catch-up nightly", september, NIGHTLY)]
    for s in out:
        folder = root / s.name.replace(" ", "-")
        b = Batch(s.command, big, place(s.start, folder), root / f"o-{folder.name}")
        assert b.wait() == 0, b.stderr
        s.seconds, s.after_commit = time.monotonic() - b.started, time.monotonic() - b.commit_at
        s.end_ledger = folder / "ledger.duckdb"
        s.end = state(s.end_ledger)
        s.before = state(s.start / "ledger.duckdb") if s.start else state(root / "no-such-ledger.duckdb")
    reissue = Scenario("reissue", out[1].end_ledger.parent, REISSUE)
    b = Batch(REISSUE, big, place(reissue.start, root / "reissue"), root / "o-reissue")
    assert b.wait() == 0, b.stderr
    reissue.seconds, reissue.after_commit = time.monotonic() - b.started, time.monotonic() - b.commit_at
    reissue.end_ledger = root / "reissue" / "ledger.duckdb"
    reissue.end = state(reissue.end_ledger)
    reissue.before = out[1].end
    assert len(reissue.end["credit_notes"]) > 100 and len(out[1].end["invoices"]) > 800
    for s in out[1:] + [reissue]:  # the catch-up and the reissue draw prepaid credit
        assert len(s.end["credit_allocations"]) > len(s.before["credit_allocations"]), s.name
    assert {r[2] for r in out[1].end["credit_allocations"]} == {"grant", "customer_credit"}  # r[2]: source
    return out + [reissue]


def with_credit(ws: Path, ledger: Path, root: Path) -> None:
    """Grants (some expiring before October's invoices, several per customer) and overpayments in a ledger."""
    billed = rows(ledger, "SELECT customer_id, min(currency) AS currency FROM invoices GROUP BY ALL ORDER BY ALL")
    assert len(billed) >= 30
    grants = ["grant_id,customer_id,currency,amount,effective_date,expiry_date,priority"]
    for i, c in enumerate(billed[:24]):
        expiry = ("2026-11-01", "", "2027-01-01", "2026-12-01")[i % 4]
        grants.append(f"G{i},{c['customer_id']},{c['currency']},50,2026-10-01,{expiry},{100 + i % 3}")
        if i % 3 == 0:
            grants.append(f"H{i},{c['customer_id']},{c['currency']},20,2026-09-01,,1")
    payments = ["payment_id,customer_id,received_date,amount,currency"]
    payments += [f"P{i},{c['customer_id']},2026-10-05,100000,{c['currency']}" for i, c in enumerate(billed[24:30])]
    for command, name, lines in (("credits", "grants.csv", grants), ("payments", "bank.csv", payments)):
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        p = usagebill(command, "import", ws, root / name, "--ledger", ledger)
        assert p.returncode == 0, p.stderr


def test_kill_9_at_any_moment_leaves_the_ledger_before_or_after_the_whole_batch(big, scenarios, tmp_path):
    seed = int(os.environ.get("USAGEBILL_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    seen: dict[str, set[str]] = {s.name: set() for s in scenarios}
    interrupted: dict[str, Path] = {}  # per scenario, a ledger some kill left in the before state
    for i in range(KILLS):
        s = scenarios[i % len(scenarios)]
        where = tmp_path / f"kill-{i}"
        ledger = place(s.start, where)
        batch = Batch(s.command, big, ledger, where / "out")
        if i % 2:  # a random moment of the whole run
            time.sleep(rng.uniform(0, s.seconds * 1.05))
        else:  # a random moment from the start of the commit to the end (commit, checkpoint, outputs)
            batch.committing.wait(timeout=60)
            time.sleep(rng.uniform(0, s.after_commit))
        killed_at = time.monotonic() - batch.started
        batch.kill()
        context = f"seed {seed}, kill {i} ({s.name}) at {killed_at:.3f}s"
        assert ledger_problems(ledger) == [], context
        now = state(ledger)
        assert now in (s.before, s.end), context
        outcome = "after" if now == s.end else "before"
        seen[s.name].add(outcome)
        out = where / "out"
        if out.exists():  # outputs are published only after the commit, and never half-written
            assert outcome == "after", context
            assert (out / "manifest.json").exists() and (out / "invoices.csv").exists(), context
        if outcome == "before":
            interrupted[s.name] = where
    print(f"kill seed {seed}: {seen}")
    for s in scenarios:  # an uninterrupted run on a ledger a kill interrupted gives the never-killed result
        where = interrupted.get(s.name)
        if where is None:
            continue
        b = Batch(s.command, big, where / "ledger.duckdb", where / "final")
        assert b.wait() == 0, b.stderr
        assert state(where / "ledger.duckdb") == s.end, f"seed {seed}: {s.name}"


def test_two_nightly_processes_at_once_issue_every_period_once(big, scenarios, tmp_path):
    ledger = place(None, tmp_path / "ledger")
    a = Batch(NIGHTLY, big, ledger, tmp_path / "out-a")
    b = Batch(NIGHTLY, big, ledger, tmp_path / "out-b")
    assert (a.wait(), b.wait()) == (0, 0), a.stderr + b.stderr
    assert sorted("nothing issued" in x.stdout for x in (a, b)) == [False, True], a.stdout + b.stdout
    assert ledger_problems(ledger) == []
    assert state(ledger) == scenarios[0].end  # exactly one uninterrupted batch


def test_issue_and_nightly_at_once_never_issue_a_period_twice(big, scenarios, tmp_path):
    september = scenarios[1].start
    ledger = place(september, tmp_path / "ledger")
    a = Batch(["issue", "{ws}", "--from", "2026-09-01", "--to", "2026-11-01"], big, ledger, tmp_path / "out-a")
    b = Batch(NIGHTLY, big, ledger, tmp_path / "out-b")
    assert (a.wait(), b.wait()) == (0, 0), a.stderr + b.stderr
    assert ledger_problems(ledger) == []  # gapless, whole invoices, one live invoice per period
    query = "SELECT contract_id, period_start FROM invoices WHERE status = 'issued' ORDER BY ALL"
    assert rows(ledger, query) == rows(scenarios[1].end_ledger, query)


APPLY = ["credits", "apply", "{ws}", "--date", "2026-11-01"]


def apply_process(ws: Path, ledger: Path) -> subprocess.Popen:
    return subprocess.Popen(CLI + [a.format(ws=ws) for a in APPLY] + ["--ledger", str(ledger)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_credits_apply_and_nightly_at_once_draw_every_credit_once(big, scenarios, tmp_path):
    """Either order, run alone, gives a ledger; run together they give one of those two, never a mix."""
    september = scenarios[1].start
    refs = []
    for name in ("apply-first", "nightly-first"):
        ledger = place(september, tmp_path / name)
        steps = ["apply", "nightly"] if name == "apply-first" else ["nightly", "apply"]
        for step in steps:
            if step == "apply":
                proc = apply_process(big, ledger)
                assert proc.wait(timeout=120) == 0, proc.stderr.read()
            else:
                assert Batch(NIGHTLY, big, ledger, tmp_path / f"out-{name}").wait() == 0
        refs.append(state(ledger))
    assert refs[0] != refs[1]  # the order matters: the test can tell which one happened
    assert len(refs[0]["credit_allocations"]) > len(state(september / "ledger.duckdb")["credit_allocations"])
    ledger = place(september, tmp_path / "together")
    a = apply_process(big, ledger)
    b = Batch(NIGHTLY, big, ledger, tmp_path / "out-b")
    assert (a.wait(timeout=120), b.wait()) == (0, 0), a.stderr.read() + "".join(b.stderr)
    assert ledger_problems(ledger) == []  # no grant overdrawn, no invoice given more than it asks
    assert state(ledger) in refs


def test_kill_9_during_credits_apply_leaves_the_credit_before_or_after(big, scenarios, tmp_path):
    september = scenarios[1].start
    done = place(september, tmp_path / "reference")
    started = time.monotonic()
    assert apply_process(big, done).wait(timeout=120) == 0
    seconds = time.monotonic() - started
    before, after = state(september / "ledger.duckdb"), state(done)
    assert before != after
    seed = int(os.environ.get("USAGEBILL_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    for i in range(max(3, KILLS // 3)):
        ledger = place(september, tmp_path / f"kill-{i}")
        proc = apply_process(big, ledger)
        time.sleep(rng.uniform(seconds * 0.3, seconds * 1.05))  # its start-up is the first third or so
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert ledger_problems(ledger) == [], f"seed {seed}, kill {i}"
        assert state(ledger) in (before, after), f"seed {seed}, kill {i}"


def test_a_held_ledger_fails_fast_with_a_clear_message_or_is_waited_for(big, tmp_path):
    ledger = place(None, tmp_path / "ledger")
    with ledger_lock(ledger, exclusive=True, wait=0):
        p = subprocess.run(CLI + ["nightly", str(big), "--as-of", "2026-11-01T12:00:00Z", "--ledger", str(ledger),
                                  "--wait", "0"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert f"error: ledger {ledger} is in use by another usagebill process; try again when it finishes" in p.stderr
    assert not ledger.exists() and "Traceback" not in p.stderr

    # With --wait the second process blocks on the lock (no timing asserted): once it has the lock file open
    # while we hold the lock, it must neither finish nor create the ledger; released, it goes on and succeeds.
    with ledger_lock(ledger, exclusive=True, wait=0):
        proc = subprocess.Popen(CLI + ["nightly", str(big), "--as-of", "2000-01-01", "--ledger", str(ledger),
                                       "--wait", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_open(proc.pid, lock_path(ledger))
            for _ in range(5):  # several of its polling rounds
                time.sleep(POLL_SECONDS)
                assert proc.poll() is None and not ledger.exists(), "it went on while the ledger was held"
        except BaseException:
            proc.kill()
            raise
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "nothing issued" in out, err
    assert ledger.exists()


def wait_for_open(pid: int, path: Path) -> None:
    """Until process `pid` holds a descriptor on `path` (read from /proc: a state, not a duration)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == os.path.realpath(path) for fd in fds):
                return
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never opened {path}")


def test_another_program_holding_the_database_file_is_reported(big, tmp_path):
    ledger = place(None, tmp_path / "ledger")
    holder = subprocess.Popen([sys.executable, "-c",
                               "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True);"
                               " time.sleep(60)", str(ledger)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        p = subprocess.run(CLI + ["invoices", str(big), "--ledger", str(ledger), "--wait", "0.5"],
                           capture_output=True, text=True, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert p.returncode == 1 and "is in use by another usagebill process (waited 0.5 s)" in p.stderr


def test_a_reader_waits_for_the_writer_and_sees_the_whole_batch(big, scenarios, tmp_path):
    ledger = place(None, tmp_path / "ledger")
    writer = Batch(NIGHTLY, big, ledger, tmp_path / "out")
    while not any("] rate" in line for line in writer.stderr):  # the writer holds the ledger by now
        assert writer.proc.poll() is None
        time.sleep(0.02)
    reader = subprocess.run(CLI + ["invoices", str(big), "--ledger", str(ledger), "--format", "csv"],
                            capture_output=True, text=True, timeout=120)
    assert writer.wait() == 0
    assert reader.returncode == 0, reader.stderr
    assert len(reader.stdout.splitlines()) == 1 + len(scenarios[0].end["invoices"])
