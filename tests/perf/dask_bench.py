"""Dask engine overhead against the local engine, same workspace, same machine (BENCHMARKS.md "Dask engine").

    python tests/perf/dask_bench.py [--events 10000000] [--repeat 2] [--buckets 64]

Uses (and makes, if missing) data/bench/ws-N like tests/perf/bench.py, and its bucket layout
data/bench/ws-N-b<buckets> (`usagebill repartition`). Each configuration runs in its own process,
back to back, `--repeat` times in turn (the machine is shared: compare ratios within a round):

- local:          usagebill run (one process, DuckDB on every core)
- dask-every:     --engine dask, LocalCluster of 2 single-threaded workers, 2 shards each reading
                  every file (the layout as generated)
- dask-own:       the same on the bucket layout: each shard reads only its own files
- dask-own-16:    16 shards on the bucket layout (per-shard throughput at a smaller shard size)

Prints a Markdown table and writes data/bench/dask.json. Every configuration's invoices are checked
to be byte-identical to the local run's.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "data" / "bench"
WINDOW = ("2026-10-01", "2026-11-01")
CONFIGS = {"local": None, "dask-every": (2, 2, False), "dask-own": (2, 2, True), "dask-own-16": (2, 16, True)}


def one(config: str, ws: Path, bucketed: Path, out: Path, memory_limit: str) -> dict:
    """Run one configuration in this process and return its figures."""
    sys.path.insert(0, str(ROOT))
    from pipeline.engine import Engine, bill_with
    from pipeline.run import RunArgs, write_outputs

    run = RunArgs(dt.date.fromisoformat(WINDOW[0]), dt.date.fromisoformat(WINDOW[1]))
    spec = CONFIGS[config]
    engine = None if spec is None else Engine("dask", None, spec[1], spec[0])
    where = bucketed if spec and spec[2] else ws
    report: dict = {}
    start = time.perf_counter()
    result = bill_with(engine, where, run, memory_limit=memory_limit, report=report)
    write_outputs(result, out)
    wall = time.perf_counter() - start
    tasks = report.get("tasks", [])
    shard_seconds = [sum(v for k, v in t["seconds"].items()) for t in tasks]
    return {"config": config, "wall": wall, "driver_cpu": resource.getrusage(resource.RUSAGE_SELF).ru_utime
            + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
            "events": result.counts["read"], "driver_seconds": {k: round(v, 2) for k, v in result.timings.items()},
            "shards": report.get("shards"), "own_files": report.get("own_files"),
            "shard_seconds": [round(s, 2) for s in shard_seconds], "shard_events": [t["events"] for t in tasks]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--buckets", type=int, default=64)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--one")
    a = parser.parse_args()
    ws = BENCH / f"ws-{a.events}"
    bucketed = BENCH / f"ws-{a.events}-b{a.buckets}"
    if a.one:
        print(json.dumps(one(a.one, ws, bucketed, BENCH / "out" / f"dask-bench-{a.one}", a.memory_limit)))
        return
    if not ws.exists():
        subprocess.run([sys.executable, "-m", "pipeline.generate", str(ws), "--customers", "20000", "--events",
                        str(a.events), "--seed", "1"], check=True, cwd=ROOT)
    figures: dict = {"events": a.events, "buckets": a.buckets, "runs": []}
    if not bucketed.exists():
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "usagebill"), "repartition", str(ws), "--out", str(bucketed),
                        "--buckets", str(a.buckets), "--memory-limit", a.memory_limit], check=True, cwd=ROOT,
                       stderr=subprocess.DEVNULL)
        figures["repartition_seconds"] = round(time.perf_counter() - start, 1)
    for round_no in range(a.repeat):
        for config in CONFIGS:
            done = subprocess.run([sys.executable, __file__, "--one", config, "--events", str(a.events),
                                   "--buckets", str(a.buckets), "--memory-limit", a.memory_limit],
                                  check=True, cwd=ROOT, capture_output=True, text=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row["round"] = round_no
            figures["runs"].append(row)
            print(json.dumps(row), flush=True)
    reference = (BENCH / "out" / "dask-bench-local" / "invoices.parquet").read_bytes()
    for config in CONFIGS:
        assert (BENCH / "out" / f"dask-bench-{config}" / "invoices.parquet").read_bytes() == reference, config
    (BENCH / "dask.json").write_text(json.dumps(figures, indent=1))
    print("\n| round | configuration | wall s | ratio to local | shards | per shard: events, s, events/s |")
    print("|---|---|---|---|---|---|")
    for r in figures["runs"]:
        local = next(x for x in figures["runs"] if x["round"] == r["round"] and x["config"] == "local")
        per = ""
        if r["shard_seconds"]:
            rates = [e / s for e, s in zip(r["shard_events"], r["shard_seconds"]) if s]
            per = (f"{min(r['shard_events']):,}..{max(r['shard_events']):,} events, "
                   f"{min(r['shard_seconds'])}..{max(r['shard_seconds'])} s, "
                   f"{min(rates):,.0f}..{max(rates):,.0f} /s")
        print(f"| {r['round']} | {r['config']} | {r['wall']:.1f} | {r['wall'] / local['wall']:.2f} | "
              f"{r['shards'] or ''} | {per} |")


if __name__ == "__main__":
    main()
