"""make bench-render: how long `usagebill render` takes for a month of issued documents.

    python tests/perf/bench_render.py [--customers 1000]

Generates a workspace of that many customers (data/bench/render/ws, one month, every currency
the generator uses), issues October with `usagebill issue`, then times, each in its own process
(wall, CPU, peak RSS): `render --format pdf` and `render --format ubl` (every file validated
against the UBL XSD and the EN 16931 schematron in the command). Prints the documents per second.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import BIN, DATA, measure


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1000)
    a = ap.parse_args()
    root = DATA / "render"
    shutil.rmtree(root, ignore_errors=True)
    ws = root / "ws"
    subprocess.run([str(BIN / "python"), str(Path(__file__).resolve().parents[1] / "tools" / "generate.py"), str(ws),
                    "--customers", str(a.customers),
                    "--events", str(a.customers * 200), "--seed", "3"], check=True, capture_output=True)
    measure("usagebill issue, October", [str(BIN / "usagebill"), "issue", str(ws), "--from", "2026-10-01",
                                         "--to", "2026-11-01"])
    for fmt in ("pdf", "ubl"):
        t = measure(f"usagebill render --format {fmt}", [str(BIN / "usagebill"), "render", str(ws), "--format", fmt,
                                                         "--out", str(root / fmt)])
        manifest = json.loads((root / fmt / "manifest.json").read_text())
        n = len(manifest["documents"])
        print(f"  {fmt}: {n} files ({len(manifest.get('not_rendered', []))} not rendered), "
              f"{n / t.wall:,.0f} per second wall, {t.cpu / n * 1000:.1f} ms CPU each", flush=True)


if __name__ == "__main__":
    main()
