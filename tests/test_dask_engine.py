"""The dask engine: a run sharded by customer over a Dask cluster gives the local run's bytes.

Scenario and generated workspaces, selections, the span and lookback of the whole run, the bucket
layout of `usagebill repartition`, the command line, a real `dask scheduler` with two `dask worker`
processes on loopback, and a worker killed with SIGKILL in the middle of a run.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import ev, workspace
from click.testing import CliRunner
from conftest import SCENARIOS
from tools.generate import generate_workspace

from pipeline.billing.run import write_outputs
from pipeline.billing.shards import BUCKET_SQL, shard_of
from pipeline.billing.types import RunArgs
from pipeline.cli import cli
from pipeline.scale_out.engine import Engine, bill_with, default_shards
from pipeline.scale_out.repartition import repartition

FILES = ("invoices.parquet", "invoices.csv", "invoice_lines.parquet", "invoice_lines.csv", "usage.parquet",
         "quarantine.parquet", "daily_usage.parquet", "report.html")
BILLED = ("invoices.parquet", "invoices.csv", "invoice_lines.parquet", "invoice_lines.csv", "usage.parquet")
DASK = Path(sys.executable).parent / "dask"


def args(first: str = "2026-10-01", stop: str = "2026-11-01", **kw) -> RunArgs:
    return RunArgs(dt.date.fromisoformat(first), dt.date.fromisoformat(stop), **kw)


def outputs(result, out: Path) -> dict[str, bytes | dict]:
    """Every output file's bytes, and manifest.json without its seconds per stage."""
    write_outputs(result, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.pop("seconds")
    return {**{name: (out / name).read_bytes() for name in FILES}, "manifest": manifest}


def same_as_local(ws: Path, run: RunArgs, engine: Engine, tmp: Path, report: dict | None = None) -> dict:
    # each in a folder of its own: report.html compares a run with earlier ones beside its folder
    local = outputs(bill_with(None, ws, run), tmp / "local" / "out")
    sharded = outputs(bill_with(engine, ws, run, report=report), tmp / "dask" / "out")
    for name in local:
        assert sharded[name] == local[name], name
    return local


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes, shared by the tests of this module (its address)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated workspace, plus a file of older events: copies inside the dedup lookback and
    weighted_sum history from before the window (so that pruning by day has something to prune)."""
    ws = tmp_path_factory.mktemp("gen") / "ws"
    generate_workspace(ws, customers=150, events=60_000, seed=11)
    first = pq.read_table(sorted((ws / "events").glob("*.parquet"))[0]).slice(0, 3000)
    ts = first.column("timestamp")
    older = [first.set_column(first.schema.get_field_index("timestamp"), "timestamp",
                              pa.array([t.as_py() - dt.timedelta(days=days) for t in ts], ts.type))
             for days in (20, 75, 400)]  # the dedup lookback, weighted_sum history, long before anything
    (ws / "events" / "old").mkdir()
    pq.write_table(pa.concat_tables(older), ws / "events" / "old" / "older.parquet")
    return ws


def test_shard_hash_is_the_same_in_python_and_duckdb():
    ids = ["c1", "", "C1", "cust-000042", "Zürich GmbH", "東京", "a,b\"c", "../x", "🙂" * 5] + \
          [f"customer-{i}" for i in range(300)]
    con = duckdb.connect()
    for count in (1, 2, 3, 7, 64, 1000):
        got = con.execute(f"SELECT {BUCKET_SQL.format(column='c')} FROM unnest($ids) t(c)",
                          {"ids": ids, "buckets": count}).fetchall()
        assert [g[0] for g in got] == [shard_of(c, count) for c in ids], count
    assert con.execute(f"SELECT {BUCKET_SQL.format(column='NULL::VARCHAR')}", {"buckets": 8}).fetchone()[0] == 0
    assert shard_of("c1", 1 << 64) == int("a9f7e97965d6cf79", 16)  # md5("c1") begins a9f7e979 65d6cf79


def test_default_shards():
    assert default_shards(4, None) == 4
    assert default_shards(6, 64) == 4 and default_shards(8, 64) == 8 and default_shards(100, 64) == 64
    assert default_shards(0, None) == 1


@pytest.mark.parametrize("case", sorted(p.name for p in SCENARIOS.iterdir() if (p / "expected.json").exists()))
@pytest.mark.parametrize("shards", [1, 3])
def test_scenarios_give_the_local_bytes(cluster, tmp_path, case, shards):
    expected = json.loads((SCENARIOS / case / "expected.json").read_text())
    same_as_local(SCENARIOS / case / "ws", args(expected["from"], expected["to"]),
                  Engine("dask", cluster, shards), tmp_path)


def test_generated_workspace_and_selections_give_the_local_bytes(cluster, generated, tmp_path):
    report: dict = {}
    local = same_as_local(generated, args(), Engine("dask", cluster, 5), tmp_path / "all", report)
    counts = local["manifest"]["counts"]
    assert counts["duplicate"] and counts["outside_window"] and counts["unknown_customer"] and counts["invalid"]
    assert report["shards"] == 5 and not report["own_files"]
    assert sum(t["events"] for t in report["tasks"]) == counts["read"]
    contracts = [line.split(",")[0] for line in (generated / "contracts.csv").read_text().splitlines()[1:6]]
    same_as_local(generated, args(contracts=tuple(contracts)), Engine("dask", cluster, 3), tmp_path / "k")
    same_as_local(generated, args("2026-10-10", "2026-10-20", customers=("C00007", "C00100")),
                  Engine("dask", cluster, 2), tmp_path / "c")


def test_a_shard_reads_the_whole_runs_span_lookback_and_history(cluster, tmp_path):
    """Customer a alone would span Oct 1..Nov 1; b's monthly period (Sep 15..Oct 15) widens the run's
    span to Sep 15. a's event of Sep 20 is then outside_window (not unread), its copy of Aug 20 is
    inside the run's lookback (Oct 5 is a duplicate), and a storage change whose earliest copy is
    from Aug 1, long before a's contract, is the one kept (so it adds nothing to a's level)."""
    a = next(f"a{i}" for i in range(100) if shard_of(f"a{i}", 2) == 0)
    b = next(f"b{i}" for i in range(100) if shard_of(f"b{i}", 2) == 1)
    metrics = [{"id": "calls", "event_type": "call", "aggregation": "count"},
               {"id": "gb", "event_type": "storage", "aggregation": "weighted_sum", "field": "gb"}]
    charges = [{"id": "calls", "metric": "calls", "model": "per_unit", "unit_price": 1},
               {"id": "gb", "metric": "gb", "model": "per_unit", "unit_price": "0.1"}]
    customers = [{"customer_id": c, "name": c, "country": "US"} for c in (a, b)]
    contracts = [{"contract_id": "ka", "customer_id": a, "plan_id": "p", "start_date": "2026-09-01",
                  "billing_period": "daily"},
                 {"contract_id": "kb", "customer_id": b, "plan_id": "p", "start_date": "2026-01-15"}]
    events = [[ev("e1", "2026-09-20T10:00", customer_id=a), ev("e2", "2026-10-05T10:00", customer_id=a),
               ev("e3", "2026-10-06T10:00", customer_id=a), ev("e2", "2026-08-20T10:00", customer_id=a),
               ev("s1", "2026-08-01T10:00", "storage", a, gb=50.0), ev("s1", "2026-09-10T10:00", "storage", a, gb=50.0),
               ev("s2", "2026-09-11T10:00", "storage", a, gb=5.0),
               ev("f1", "2026-10-01T10:00", customer_id=b), ev("f2", "2026-09-20T10:00", customer_id=b),
               ev("s9", "2026-03-01T10:00", "storage", b, gb=7.0)]]
    ws = workspace(tmp_path / "ws", metrics=metrics, charges=charges, events=events, customers=customers,
                   contracts=contracts)
    local = same_as_local(ws, args(), Engine("dask", cluster, 2), tmp_path)
    counts = local["manifest"]["counts"]
    assert counts["outside_window"] >= 1 and counts["duplicate"] == 1, counts
    usage = pq.read_table(tmp_path / "local" / "out" / "usage.parquet").to_pylist()
    level = {r["period_start"]: r["quantity"] for r in usage if r["contract_id"] == "ka" and r["metric_id"] == "gb"}
    assert level[dt.date(2026, 10, 1)] == 5  # s2 only: s1's kept copy (Aug 1) is before the contract


def test_repartitioned_events_bill_the_same_and_shards_read_only_their_files(cluster, generated, tmp_path):
    bucketed = repartition(generated, tmp_path / "bucketed", 8).out
    original = outputs(bill_with(None, generated, args()), tmp_path / "original")
    report: dict = {}
    local = same_as_local(bucketed, args(), Engine("dask", cluster, 4), tmp_path / "b4", report)
    for name in BILLED:
        assert local[name] == original[name], name
    assert local["manifest"]["counts"] == original["manifest"]["counts"]
    assert report["own_files"] and report["buckets"] == 8
    assert sum(t["events"] for t in report["tasks"]) == original["manifest"]["counts"]["read"]
    assert any(p.parent.name < "event_date=2025-10" for p in (bucketed / "events").rglob("*.parquet"))
    assert sum(report["files"]) < len(list((bucketed / "events").rglob("*.parquet")))  # 400 days old: not read
    # 3 does not divide 8: every shard reads every file, same bytes
    same_as_local(bucketed, args(), Engine("dask", cluster, 3), tmp_path / "b3")


def test_repartition_keeps_every_row_and_column(generated, tmp_path):
    out = repartition(generated / "events", tmp_path / "events", 4)
    before = duckdb.sql(f"SELECT * FROM read_parquet('{generated}/events/**/*.parquet', union_by_name = true, "
                        "hive_partitioning = false)").to_arrow_table()
    after = duckdb.sql(f"SELECT * FROM read_parquet('{out.out}/**/*.parquet', hive_partitioning = false)") \
        .to_arrow_table()
    assert out.events == before.num_rows == after.num_rows
    assert after.schema.names == before.schema.names
    key = [(n, "ascending") for n in ("customer_id", "event_id", "timestamp", "event_type")]
    assert before.sort_by(key).to_pylist()[:500] == after.sort_by(key).to_pylist()[:500]
    assert sorted(map(str, before.column("event_id").to_pylist())) == sorted(map(str, after.column("event_id")
                                                                              .to_pylist()))
    layout = json.loads((out.out / "_usagebill_layout.json").read_text())
    assert layout["buckets"] == 4 and len(layout["files"]) == out.files
    with pytest.raises(Exception, match="not empty"):
        repartition(generated / "events", out.out, 4)


def test_command_line_starts_a_local_cluster(tmp_path):
    ws = SCENARIOS / "mixed" / "ws"
    window = ["--from", "2026-09-01", "--to", "2026-12-01"]
    runner = CliRunner()
    local = runner.invoke(cli, ["run", str(ws), *window, "--out", str(tmp_path / "local" / "out")])
    sharded = runner.invoke(cli, ["run", str(ws), *window, "--engine", "dask", "--workers", "2", "--shards", "2",
                                  "--out", str(tmp_path / "dask" / "out")])
    assert local.exit_code == 0 and sharded.exit_code == 0, sharded.output
    assert local.output.splitlines()[0] == sharded.output.splitlines()[0]  # run id and counts
    for name in FILES:
        assert (tmp_path / "dask" / "out" / name).read_bytes() == (tmp_path / "local" / "out" / name).read_bytes(), name
    wrong = runner.invoke(cli, ["run", str(ws), *window, "--shards", "2"])
    assert wrong.exit_code != 0


# -- a real scheduler and worker processes ------------------------------------------------------

class Processes:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, started and stopped by a test."""

    def __init__(self, tmp: Path, workers: int):
        self.file = tmp / "scheduler.json"
        root = str(Path(__file__).resolve().parents[1])  # workers import this checkout's pipeline
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self.scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                           "--no-dashboard", "--scheduler-file", str(self.file)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.workers = [subprocess.Popen([str(DASK), "worker", "--scheduler-file", str(self.file), "--host",
                                          "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                          "--memory-limit", "3GiB"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                        for _ in range(workers)]
        from distributed import Client

        self.client = Client(scheduler_file=str(self.file), timeout="60s")
        self.client.wait_for_workers(workers, timeout=120)
        self.address = self.client.scheduler.address
        self.pid_of = self.client.run(os.getpid)  # worker address -> process id

    def close(self) -> None:
        self.client.close()
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path, 2)
    yield procs
    procs.close()


def test_scheduler_and_two_worker_processes(processes, generated, tmp_path):
    report: dict = {}
    same_as_local(generated, args(), Engine("dask", processes.address, 4), tmp_path, report)
    pids = {p.pid for p in processes.workers}
    assert {t["pid"] for t in report["tasks"]} <= pids


def test_a_worker_killed_mid_run_loses_nothing(processes, tmp_path_factory, tmp_path):
    """SIGKILL a worker while it runs a shard, after another shard has finished: the scheduler runs
    the lost task again on the other worker, and the outputs are complete and identical."""
    ws = tmp_path_factory.mktemp("kill") / "ws"
    generate_workspace(ws, customers=200, events=120_000, seed=5)
    run = args()
    expected = outputs(bill_with(None, ws, run), tmp_path / "local" / "out")
    messages: list[str] = []
    box: dict = {}

    def rate() -> None:
        try:
            box["result"] = bill_with(Engine("dask", str(processes.file), 8), ws, run, progress=messages.append,
                                      report=box.setdefault("report", {}))
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=rate)
    thread.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        if any(m.startswith("shards 1/") for m in messages):
            processing = processes.client.processing()
            busy = [w for w, keys in processing.items() if keys]
            if busy:
                running = [int(str(k).split("-")[2]) for k in processing[busy[0]]]  # usagebill-shard-<i>-of-...
                killed = processes.pid_of[busy[0]]
                os.kill(killed, signal.SIGKILL)
                break
        time.sleep(0.02)
    thread.join(timeout=300)
    assert killed is not None, "no shard was running after the first one finished: nothing to kill"
    assert "error" not in box, box.get("error")
    assert any(p.pid == killed and p.wait(timeout=10) == -signal.SIGKILL for p in processes.workers)
    got = outputs(box["result"], tmp_path / "dask")
    for name in expected:
        assert got[name] == expected[name], name
    tasks = box["report"]["tasks"]
    assert len(tasks) == 8 and all(tasks[i]["pid"] != killed for i in running)  # run again by the survivor


def test_repartition_in_several_passes_writes_the_same_files(generated, tmp_path, monkeypatch):
    """Big inputs are sorted in passes over bucket ranges (pipeline/scale_out/repartition.py ROWS_PER_PASS):
    the files are the same bytes as from one pass."""
    import pipeline.scale_out.repartition as rp

    one = repartition(generated / "events", tmp_path / "one", 8).out
    monkeypatch.setattr(rp, "ROWS_PER_PASS", 7_000)  # 60,000+ events: 8 passes of one bucket each
    several = repartition(generated / "events", tmp_path / "several", 8).out
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(several) for p in several.rglob("*") if p.is_file())
    assert len(files) > 8
    for rel in files:
        assert (one / rel).read_bytes() == (several / rel).read_bytes(), rel
