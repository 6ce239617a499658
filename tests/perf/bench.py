"""make bench: usagebill end to end against the floor and a pandas baseline, in one run.

    python tests/perf/bench.py --events 10000000 [--memory-limit 4GB] [--pandas-events 10000000]
        [--contracts 500000 --contract-events 2000000]

Generates (and caches under data/bench/) workspaces of N events for 20,000 customers
over October 2026, then times, each in its own process (wall, CPU, peak RSS):
usagebill run with the defaults a user gets (no --memory-limit unless given); the floor
(tests/perf/floor.py); the peers chdb and Polars on the same files when installed
(tests/perf/peers.py); the pandas baseline at a size pandas holds; a 10M run for the
scaling ratio when N > 10M; the incremental night (one day of closings on a workspace
whose anchor days are spread over the month, against the whole month); and the
many-contracts workload (--contracts customers with one or two contracts each,
--contract-events events): run, and `issue` of its batch into an empty ledger.
Prints the ratios and writes them to BENCHMARKS.results.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATA = ROOT / "data" / "bench"
CUSTOMERS = 20_000
WINDOW = ("2026-10-01", "2026-11-01")
NIGHT = ("2026-10-15", "2026-10-16")


@dataclass
class Timing:
    label: str
    wall: float
    cpu: float
    rss_gb: float

    def row(self) -> str:
        return f"| {self.label} | {self.wall:.1f} | {self.cpu:.1f} | {self.rss_gb:.2f} |"


def measure(label: str, cmd: list[str]) -> Timing:
    """Run a command as a child process and read its own wall time, CPU time and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label} failed: {' '.join(cmd)}\n{proc.stderr.read()[-3000:]}")
    timing = Timing(label, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024 / 1024)
    print(f"  {label}: {timing.wall:.1f} s wall, {timing.cpu:.1f} s CPU, {timing.rss_gb:.2f} GB peak RSS", flush=True)
    return timing


def workspace(events: int, incremental: bool = False, customers: int = CUSTOMERS) -> Path:
    """A generated workspace, reused while its parameters are the same."""
    many = f"-{customers}c" if customers != CUSTOMERS else ""
    path = DATA / f"ws-{events}{many}{'-incremental' if incremental else ''}"
    marker = path / "generated.json"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {events:,} events{' (incremental)' if incremental else ''} in {path}", flush=True)
        args = ["--customers", str(customers), "--events", str(events), "--seed", "1"]
        summary = subprocess.run([str(BIN / "python"),
                                  str(Path(__file__).resolve().parents[1] / "tools" / "generate.py"), str(path), *args]
                                 + (["--incremental"] if incremental else []),
                                 check=True, capture_output=True, text=True).stdout
        marker.write_text(summary)
    return path


def run(label: str, ws: Path, memory_limit: str | None, window: tuple[str, str] = WINDOW,
        contracts: list[str] | None = None) -> Timing:
    out = DATA / "out" / ws.name
    selection = [arg for c in contracts or [] for arg in ("--contract", c)]
    limit = ["--memory-limit", memory_limit] if memory_limit else []
    return measure(label, [str(BIN / "usagebill"), "run", str(ws), "--from", window[0], "--to", window[1],
                           *selection, "--out", str(out), *limit])


def issue(label: str, ws: Path, memory_limit: str | None) -> Timing:
    """`usagebill issue` of the window's batch into an empty ledger (the workspace's ledger removed first)."""
    for name in ("ledger.duckdb", "ledger.duckdb.wal", "ledger.duckdb.lock"):
        (ws / name).unlink(missing_ok=True)
    limit = ["--memory-limit", memory_limit] if memory_limit else []
    return measure(label, [str(BIN / "usagebill"), "issue", str(ws), "--from", WINDOW[0], "--to", WINDOW[1], *limit])


def peer(label: str, name: str, ws: Path) -> Timing | None:
    """A peer engine on the same files, or None when it is not installed (exit status 3)."""
    cmd = [str(BIN / "python"), str(ROOT / "tests/perf/peers.py"), name, str(ws / "events" / "*.parquet")]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code == 3:
        print(f"  {label}: not installed, skipped", flush=True)
        return None
    if code != 0:  # a peer that runs out of memory is a result, not a failure of the bench
        print(f"  {label}: failed after {wall:.1f} s (exit {code}): {proc.stderr.read()[-300:]}", flush=True)
        return Timing(f"{label} (failed, exit {code})", wall, usage.ru_utime + usage.ru_stime,
                      usage.ru_maxrss / 1024 / 1024)
    timing = Timing(label, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024 / 1024)
    print(f"  {label}: {timing.wall:.1f} s wall, {timing.cpu:.1f} s CPU, {timing.rss_gb:.2f} GB peak RSS", flush=True)
    return timing


def closing_contracts(ws: Path, window: tuple[str, str]) -> list[str]:
    """The contracts with a period closing in the window: what the nightly job selects."""
    from pipeline.billing.scope import select
    from pipeline.config.workspace import load_workspace

    first, stop = (dt.date.fromisoformat(d) for d in window)
    return sorted({b.contract.contract_id for b in select(load_workspace(ws), first, stop).periods})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--memory-limit", default=None, help="passed to usagebill (default: none, the user's default)")
    ap.add_argument("--contracts", type=int, default=500_000, help="customers of the many-contracts workload (0: skip)")
    ap.add_argument("--contract-events", type=int, default=2_000_000)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--pandas-events", type=int, default=10_000_000)
    ap.add_argument("--report", type=Path, default=ROOT / "BENCHMARKS.md")
    a = ap.parse_args()
    n = a.events
    ws = workspace(n)
    print(f"benchmark: {n:,} events, {CUSTOMERS:,} customers, memory limit {a.memory_limit or 'default'}", flush=True)
    full = run(f"usagebill run, {n:,} events", ws, a.memory_limit)
    floor = measure(f"floor query, {n:,} events", [str(BIN / "python"), str(ROOT / "tests/perf/floor.py"),
                                                   str(ws / "events" / "*.parquet")])
    timings = [full, floor]
    ratios = {"floor": full.wall / floor.wall, "floor_cpu": full.cpu / floor.cpu}
    if not a.no_peers:
        for name in ("chdb", "polars"):
            t = peer(f"peer {name}, {n:,} events", name, ws)
            if t is not None:
                timings.append(t)
                ratios[f"peer_{name}"] = t.wall / floor.wall
    small = n if n <= 10_000_000 else 10_000_000
    if n > small:
        ten = run(f"usagebill run, {small:,} events", workspace(small), a.memory_limit)
        timings.append(ten)
        ratios["scaling"] = full.wall / ten.wall
    else:
        ten = full
    pn = min(a.pandas_events, small)
    pws = workspace(pn)
    ours = ten if pn == small else run(f"usagebill run, {pn:,} events", pws, a.memory_limit)
    panda = measure(f"pandas baseline, {pn:,} events", [str(BIN / "python"),
                                                        str(ROOT / "tests/perf/pandas_baseline.py"),
                                                          str(pws), *WINDOW])
    timings += [t for t in (ours, panda) if t not in timings]
    ratios["pandas"] = panda.wall / ours.wall
    iws = workspace(n, incremental=True)
    month = run(f"incremental workspace, whole month, {n:,} events", iws, a.memory_limit)
    closing = closing_contracts(iws, NIGHT)
    night = run(f"incremental workspace, one night ({NIGHT[0]}, the {len(closing):,} contracts closing), "
                f"{n:,} events", iws, a.memory_limit, NIGHT, closing)
    timings += [month, night]
    ratios["night"] = night.wall / month.wall
    if a.contracts:
        many = a.contracts
        mws = workspace(a.contract_events, customers=many)
        mrun = run(f"usagebill run, {a.contract_events:,} events, {many:,} customers", mws, a.memory_limit)
        mfloor = measure(f"floor query, {a.contract_events:,} events, {many:,} customers",
                         [str(BIN / "python"), str(ROOT / "tests/perf/floor.py"), str(mws / "events" / "*.parquet")])
        missue = issue(f"usagebill issue into an empty ledger, {many:,} customers", mws, a.memory_limit)
        timings += [mrun, mfloor, missue]
        ratios["many_run"], ratios["many_rss"] = mrun.wall, mrun.rss_gb
        ratios["many_issue"] = missue.wall / mrun.wall
    report(a, n, timings, ratios, full)


def report(a: argparse.Namespace, n: int, timings: list[Timing], ratios: dict[str, float], full: Timing) -> None:
    ours_rss = max(t.rss_gb for t in timings if 'usagebill' in t.label or 'incremental' in t.label)
    lines = [
        f"## `make bench N={n}` ({time.strftime('%Y-%m-%d')})", "",
        f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"{platform.platform()}, Python {platform.python_version()}. Memory limit {a.memory_limit or 'default'}. "
        f"Command: `make bench N={n}`.", "",
        "| step | wall s | CPU s | peak RSS GB |", "|---|---|---|---|", *[t.row() for t in timings], "",
        "| measure | value | target | met |", "|---|---|---|---|",
        f"| events/s end to end | {n / full.wall:,.0f} | | |",
        f"| run / floor | {ratios['floor']:.2f} | <= 1.5 | {'yes' if ratios['floor'] <= 1.5 else 'no'} |",
        f"| run / floor, CPU seconds (less sensitive to other load on the machine) | {ratios['floor_cpu']:.2f} | | |",
        f"| peak RSS | {ours_rss:.2f} GB | <= 6 GB | {'yes' if ours_rss <= 6 else 'no'} |",
        f"| pandas / run | {ratios['pandas']:.2f} | >= 5 | {'yes' if ratios['pandas'] >= 5 else 'no'} |",
    ]
    if "scaling" in ratios:
        lines.append(f"| time(N) / time(10M) | {ratios['scaling']:.2f} | <= {n / 10_000_000 * 1.1:.0f} | "
                     f"{'yes' if ratios['scaling'] <= n / 10_000_000 * 1.1 else 'no'} |")
    lines.append(f"| one night / whole month | {ratios['night']:.2f} | <= 0.20 | "
                 f"{'yes' if ratios['night'] <= 0.2 else 'no'} |")
    for name in ("chdb", "polars"):
        if f"peer_{name}" in ratios:
            lines.append(f"| peer {name} / floor | {ratios[f'peer_{name}']:.2f} | (for comparison) | |")
    if "many_run" in ratios:
        lines += [f"| many contracts ({a.contracts:,} customers, {a.contract_events:,} events): run | "
                  f"{ratios['many_run']:.1f} s | <= 20 s | {'yes' if ratios['many_run'] <= 20 else 'no'} |",
                  f"| many contracts: peak RSS | {ratios['many_rss']:.2f} GB | <= 4 GB | "
                  f"{'yes' if ratios['many_rss'] <= 4 else 'no'} |",
                  f"| many contracts: issue / run | {ratios['many_issue']:.2f} | <= 2 | "
                  f"{'yes' if ratios['many_issue'] <= 2 else 'no'} |"]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    results = a.report.with_name("BENCHMARKS.results.md")
    results.write_text(text)
    print(f"written to {results} (copy it into {a.report.name} with the analysis)")
    (DATA / "last.json").write_text(json.dumps({"n": n, "ratios": ratios,
                                                "timings": [t.__dict__ for t in timings]}, indent=2))


if __name__ == "__main__":
    main()
