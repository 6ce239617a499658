"""make bench-dask: the dask engine against the local one on the same events, in one run.

    python tests/perf/bench_dask.py --events 10000000 [--buckets 16] [--memory-limit 4GB]

On the workspace `make bench` generates (data/bench/ws-N, 20,000 customers, October 2026), each
in its own process (wall, CPU of the process and the workers it reaped, peak RSS of the largest):
the local run; `usagebill repartition` into B customer buckets; the local run on that layout; and
`run --engine dask` on a local cluster of as many single-threaded worker processes as there are
cores, with shards that read every file (plain layout) and shards that read only their own
buckets. Every run's invoices and lines must be the same bytes. Prints the overhead ratios, the
figures the capacity plan in BENCHMARKS.md is computed from, and writes BENCHMARKS.dask.results.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import BIN, DATA, ROOT, WINDOW, Timing, measure, workspace

BILLED = ("invoices.parquet", "invoices.csv", "invoice_lines.parquet", "invoice_lines.csv", "usage.parquet",
          "daily_usage.parquet")
SAME = (*BILLED, "quarantine.parquet")  # quarantined rows name their file, which repartition renames


def run(label: str, ws: Path, memory_limit: str, *extra: str) -> tuple[Timing, dict]:
    """One `usagebill run` (its outputs in a folder of their own); its timing and manifest."""
    out = DATA / "out-dask" / label.replace(" ", "_").replace(",", "")
    shutil.rmtree(out, ignore_errors=True)
    timing = measure(label, [str(BIN / "usagebill"), "run", str(ws), "--from", WINDOW[0], "--to", WINDOW[1],
                             "--memory-limit", memory_limit, "--out", str(out), "--no-report", *extra])
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["out"] = str(out)
    return timing, manifest


def same_bytes(a: dict, b: dict, files: tuple[str, ...] = SAME) -> bool:
    return all((Path(a["out"]) / f).read_bytes() == (Path(b["out"]) / f).read_bytes() for f in files)


def bucketed(ws: Path, buckets: int) -> tuple[Path, Timing | None]:
    path = ws.with_name(f"{ws.name}-b{buckets}")
    if (path / "events").exists():
        return path, None
    shutil.rmtree(path, ignore_errors=True)
    return path, measure(f"repartition into {buckets} buckets", [str(BIN / "usagebill"), "repartition", str(ws),
                                                                  "--out", str(path), "--buckets", str(buckets)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--buckets", type=int, default=16)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--report", type=Path, default=ROOT / "BENCHMARKS.md")
    a = ap.parse_args()
    n, cores = a.events, os.cpu_count() or 1
    ws = workspace(n)
    bws, split = bucketed(ws, a.buckets)
    print(f"dask benchmark: {n:,} events, {cores} cores, {a.buckets} buckets", flush=True)
    workers = ["--engine", "dask", "--workers", str(cores), "--threads", "1"]
    runs = [
        run(f"local, plain layout, {cores} threads", ws, a.memory_limit),
        run(f"dask, plain layout, {cores} shards (every task reads every file)", ws, a.memory_limit, *workers,
            "--shards", str(cores)),
        run(f"local, {a.buckets} buckets, {cores} threads", bws, a.memory_limit),
        run(f"dask, {a.buckets} buckets, {cores} shards (own files)", bws, a.memory_limit, *workers,
            "--shards", str(cores)),
        run(f"dask, {a.buckets} buckets, {a.buckets // 2} shards (own files)", bws, a.memory_limit, *workers,
            "--shards", str(a.buckets // 2)),
    ]
    plain, buckets = runs[0][1], runs[2][1]  # each dask run against the local run of its layout
    identical = (all(same_bytes(plain, m) and m["run_id"] == plain["run_id"] for _, m in runs[:2])
                 and all(same_bytes(buckets, m) and m["run_id"] == buckets["run_id"] for _, m in runs[2:])
                 and same_bytes(plain, buckets, BILLED))
    local, local_b = runs[0][0], runs[2][0]
    lines = [
        f"## `make bench-dask N={n}` ({time.strftime('%Y-%m-%d')})", "",
        f"{cores} cores; dask: a LocalCluster of {cores} worker processes x 1 thread, DuckDB 1 thread per task; "
        f"local: DuckDB {cores} threads. Memory limit {a.memory_limit}. Every dask run's files and run_id "
        f"identical to the local run's on the same layout, and the billed files across layouts: "
        f"{'yes' if identical else 'NO'}.", "",
        "| step | wall s | CPU s | peak RSS GB | dask / local (wall) | shards stage s | merge s |",
        "|---|---|---|---|---|---|---|",
    ]
    if split is not None:
        lines.append(f"| {split.label} | {split.wall:.1f} | {split.cpu:.1f} | {split.rss_gb:.2f} | | | |")
    for t, m in runs:
        ref = local if "plain" in t.label else local_b
        seconds = m.get("seconds", {})
        ratio = f"{t.wall / ref.wall:.2f}" if t.label.startswith("dask") else ""
        lines.append(f"| {t.label} | {t.wall:.1f} | {t.cpu:.1f} | {t.rss_gb:.2f} | {ratio} | "
                     f"{seconds.get('shards', 0):.1f} | {seconds.get('merge', 0):.2f} |")
    best = min((r for r in runs if r[0].label.startswith("dask")), key=lambda r: r[0].wall)
    shard_s = best[1]["seconds"].get("shards", best[0].wall)
    per_core = n / (shard_s * cores)
    lines += ["", f"Capacity figures (the fastest dask run): {per_core:,.0f} events per core-second in the shards "
              f"stage; {best[0].wall - shard_s:.1f} s of driver work outside it (validate, fingerprint, merge, "
              f"check); peak RSS {best[0].rss_gb:.2f} GB for shards of "
              f"{n // int(best[0].label.split(', ')[2].split()[0]):,} "
              "events."]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if not identical:
        raise SystemExit("outputs differ between engines: see the folders under data/bench/out-dask")
    results = a.report.with_name("BENCHMARKS.dask.results.md")
    results.write_text(text)
    print(f"written to {results} (copy it into {a.report.name} with the capacity plan)")
    (DATA / "last-dask.json").write_text(json.dumps(
        {"n": n, "runs": [{**t.__dict__, "seconds": m.get("seconds", {})} for t, m in runs]}, indent=2))


if __name__ == "__main__":
    main()
