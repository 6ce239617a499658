"""make bench: usagebill end to end against the floor and a pandas baseline, in one run.

    python tests/perf/bench.py --events 10000000 [--memory-limit 4GB] [--pandas-events 10000000]

Generates (and caches under data/bench/) workspaces of N events for 20,000 customers
over October 2026, then times, each in its own process (wall, CPU, peak RSS):
usagebill run; the floor (tests/perf/floor.py); the pandas baseline at a size pandas
holds; a 10M run for the scaling ratio when N > 10M; and the incremental night (one
day of closings on a workspace whose anchor days are spread over the month, against
the whole month). Prints the ratios and writes them to BENCHMARKS.md.
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


def workspace(events: int, incremental: bool = False) -> Path:
    """A generated workspace, reused while its parameters are the same."""
    path = DATA / f"ws-{events}{'-incremental' if incremental else ''}"
    marker = path / "generated.json"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {events:,} events{' (incremental)' if incremental else ''} in {path}", flush=True)
        args = ["--customers", str(CUSTOMERS), "--events", str(events), "--seed", "1"]
        summary = subprocess.run([str(BIN / "python"), str(Path(__file__).resolve().parents[1] / "tools" / "generate.py"), str(path), *args]
                                 + (["--incremental"] if incremental else []),
                                 check=True, capture_output=True, text=True).stdout
        marker.write_text(summary)
    return path


def run(label: str, ws: Path, memory_limit: str, window: tuple[str, str] = WINDOW,
        contracts: list[str] | None = None) -> Timing:
    out = DATA / "out" / ws.name
    selection = [arg for c in contracts or [] for arg in ("--contract", c)]
    return measure(label, [str(BIN / "usagebill"), "run", str(ws), "--from", window[0], "--to", window[1],
                           *selection, "--out", str(out), "--memory-limit", memory_limit])


def closing_contracts(ws: Path, window: tuple[str, str]) -> list[str]:
    """The contracts with a period closing in the window: what the nightly job selects."""
    from pipeline.billing.scope import select
    from pipeline.config.workspace import load_workspace

    first, stop = (dt.date.fromisoformat(d) for d in window)
    return sorted({b.contract.contract_id for b in select(load_workspace(ws), first, stop).periods})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--pandas-events", type=int, default=10_000_000)
    ap.add_argument("--report", type=Path, default=ROOT / "BENCHMARKS.md")
    a = ap.parse_args()
    n = a.events
    ws = workspace(n)
    print(f"benchmark: {n:,} events, {CUSTOMERS:,} customers, memory limit {a.memory_limit}", flush=True)
    full = run(f"usagebill run, {n:,} events", ws, a.memory_limit)
    floor = measure(f"floor query, {n:,} events", [str(BIN / "python"), str(ROOT / "tests/perf/floor.py"),
                                                   str(ws / "events" / "*.parquet"), a.memory_limit])
    timings = [full, floor]
    ratios = {"floor": full.wall / floor.wall, "floor_cpu": full.cpu / floor.cpu}
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
    panda = measure(f"pandas baseline, {pn:,} events", [str(BIN / "python"), str(ROOT / "tests/perf/pandas_baseline.py"),
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
    report(a, n, timings, ratios, full)


def report(a: argparse.Namespace, n: int, timings: list[Timing], ratios: dict[str, float], full: Timing) -> None:
    lines = [
        f"## `make bench N={n}` ({time.strftime('%Y-%m-%d')})", "",
        f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"{platform.platform()}, Python {platform.python_version()}. Memory limit {a.memory_limit}. "
        f"Command: `make bench N={n}`.", "",
        "| step | wall s | CPU s | peak RSS GB |", "|---|---|---|---|", *[t.row() for t in timings], "",
        "| measure | value | target | met |", "|---|---|---|---|",
        f"| events/s end to end | {n / full.wall:,.0f} | | |",
        f"| run / floor | {ratios['floor']:.2f} | <= 1.5 | {'yes' if ratios['floor'] <= 1.5 else 'no'} |",
        f"| run / floor, CPU seconds (less sensitive to other load on the machine) | {ratios['floor_cpu']:.2f} | | |",
        f"| peak RSS | {max(t.rss_gb for t in timings if 'usagebill' in t.label or 'incremental' in t.label):.2f} GB "
        f"| <= 6 GB | {'yes' if max(t.rss_gb for t in timings) <= 6 else 'no'} |",
        f"| pandas / run | {ratios['pandas']:.2f} | >= 5 | {'yes' if ratios['pandas'] >= 5 else 'no'} |",
    ]
    if "scaling" in ratios:
        lines.append(f"| time(N) / time(10M) | {ratios['scaling']:.2f} | <= {n / 10_000_000 * 1.1:.0f} | "
                     f"{'yes' if ratios['scaling'] <= n / 10_000_000 * 1.1 else 'no'} |")
    lines.append(f"| one night / whole month | {ratios['night']:.2f} | <= 0.20 | {'yes' if ratios['night'] <= 0.2 else 'no'} |")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    results = a.report.with_name("BENCHMARKS.results.md")
    results.write_text(text)
    print(f"written to {results} (copy it into {a.report.name} with the analysis)")
    (DATA / "last.json").write_text(json.dumps({"n": n, "ratios": ratios,
                                                "timings": [t.__dict__ for t in timings]}, indent=2))


if __name__ == "__main__":
    main()
