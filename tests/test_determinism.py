"""Same inputs, same bytes: reruns, thread counts, and events split or shuffled across files."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SCENARIOS, run_bill
from pipeline.run import write_outputs

CASE = SCENARIOS / "mixed"
WINDOW = ("2026-09-01", "2026-12-01")
COMPARED = ("invoices.csv", "invoice_lines.csv", "invoices.parquet", "invoice_lines.parquet", "usage.parquet")


def outputs(ws: Path, out: Path, **kw) -> dict[str, bytes]:
    write_outputs(run_bill(ws, *WINDOW, **kw), out)
    return {name: (out / name).read_bytes() for name in COMPARED}


def all_events(ws: Path) -> pa.Table:
    files = sorted((ws / "events").rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


def test_rerun_and_thread_counts_give_identical_bytes(tmp_path):
    first = outputs(CASE / "ws", tmp_path / "a", threads=1)
    assert outputs(CASE / "ws", tmp_path / "b", threads=2) == first
    assert outputs(CASE / "ws", tmp_path / "c") == first


def test_rerun_into_the_same_folder_replaces_it(tmp_path):
    first = outputs(CASE / "ws", tmp_path / "out")
    assert outputs(CASE / "ws", tmp_path / "out") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), parts=st.integers(1, 7))
def test_shuffled_and_resplit_events_give_identical_invoices(tmp_path_factory, seed, parts):
    base = tmp_path_factory.mktemp("base")
    reference = outputs(CASE / "ws", base / "out")
    ws = tmp_path_factory.mktemp("split") / "ws"
    shutil.copytree(CASE / "ws", ws, ignore=shutil.ignore_patterns("events"))
    events = all_events(CASE / "ws")
    shuffled = events.take(pa.array(np.random.default_rng(seed).permutation(events.num_rows)))
    bounds = np.linspace(0, shuffled.num_rows, parts + 1).astype(int)
    for i in range(parts):
        chunk = shuffled.slice(bounds[i], bounds[i + 1] - bounds[i])
        path = ws / "events" / f"day={i:02d}" / f"chunk-{i:02d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(chunk, path)
    got = outputs(ws, tmp_path_factory.mktemp("out") / "out")
    for name in ("invoices.csv", "invoice_lines.csv", "usage.parquet"):
        assert got[name] == reference[name], name
