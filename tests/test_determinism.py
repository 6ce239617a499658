"""Same inputs, same bytes: reruns, thread counts, events split or shuffled across files, exact duplicate
rows, and files under other names and folders."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SCENARIOS, run_bill
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.billing.run import write_outputs

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


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[dict[str, bytes], dict[str, int]]:
    out = tmp_path_factory.mktemp("reference") / "out"
    result = run_bill(CASE / "ws", *WINDOW)
    write_outputs(result, out)
    return {name: (out / name).read_bytes() for name in COMPARED}, result.counts


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), copies=st.integers(0, 300), parts=st.integers(1, 6),
       threads=st.sampled_from([1, 2, 3, 4, 8]))
def test_exact_duplicates_renamed_files_and_threads_give_identical_invoices(tmp_path_factory, reference, seed, copies,
                                                                            parts, threads):
    """Exact copies of random rows (in any file), files under new random names and depths, any thread
    count: the same invoices, lines and usage, byte for byte. The copies are only counted: each one read
    is a duplicate (or invalid, as the row it copies), nothing else moves."""
    rng = np.random.default_rng(seed)
    events = all_events(CASE / "ws")
    copied = events.take(pa.array(rng.integers(0, events.num_rows, copies)))
    rows = pa.concat_tables([events, copied])
    rows = rows.take(pa.array(rng.permutation(rows.num_rows)))
    ws = tmp_path_factory.mktemp("dup") / "ws"
    shutil.copytree(CASE / "ws", ws, ignore=shutil.ignore_patterns("events"))
    bounds = np.linspace(0, rows.num_rows, parts + 1).astype(int)
    for i in range(parts):
        depth = [f"{rng.choice(['a', 'm', 'z'])}{rng.integers(100)}" for _ in range(rng.integers(0, 3))]
        path = ws.joinpath("events", *depth, f"{rng.choice(['x', 'b', 'part'])}-{i}-{rng.integers(10**6)}.parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows.slice(bounds[i], bounds[i + 1] - bounds[i]), path)
    result = run_bill(ws, *WINDOW, threads=threads)
    out = tmp_path_factory.mktemp("out") / "out"
    write_outputs(result, out)
    expected, counts = reference
    for name in ("invoices.csv", "invoice_lines.csv", "invoices.parquet", "invoice_lines.parquet", "usage.parquet"):
        assert (out / name).read_bytes() == expected[name], name
    got = result.counts
    moved = {k: got[k] - counts[k] for k in counts if got[k] != counts[k]}
    assert set(moved) <= {"read", "duplicate", "invalid"}, moved
    assert moved.get("read", 0) == moved.get("duplicate", 0) + moved.get("invalid", 0) <= copies, moved


def test_parquet_bytes_do_not_depend_on_the_chunks_a_table_arrives_in(tmp_path):
    """Over 1 MB of distinct values, Parquet falls back from dictionary to plain encoding at a point
    that depends on the chunks written: DuckDB's result chunks vary with its threads, and a sharded
    run's merge gives one chunk. Found on 10M events (quarantine.parquet, the timestamp column)."""
    from pipeline.billing import emit

    n = 200_000  # 200k distinct int64 timestamps: a 1.6 MB dictionary
    stamps = pa.array(range(1_790_000_000_000_000, 1_790_000_000_000_000 + 7 * n, 7), pa.timestamp("us", "UTC"))
    table = pa.table({"timestamp": stamps, "row": pa.array(range(n), pa.int64())})
    whole, chunked = tmp_path / "whole.parquet", tmp_path / "chunked.parquet"
    emit.write_parquet(table, whole)
    emit.write_parquet(pa.Table.from_batches(table.to_batches(max_chunksize=2048)), chunked)
    assert whole.read_bytes() == chunked.read_bytes()


def test_parquet_is_written_by_row_group_with_the_bytes_of_one_chunk(tmp_path):
    """write_parquet makes one row group (1M rows) at a time one chunk: the bytes of writing the whole
    table as one chunk (as the run's outputs were written before), whatever its chunks, across row groups."""
    from pipeline.billing import emit

    n = 1_200_001  # two row groups, the second over a dictionary's fallback too
    stamps = pa.array(range(1_790_000_000_000_000, 1_790_000_000_000_000 + 7 * n, 7), pa.timestamp("us", "UTC"))
    table = pa.table({"timestamp": stamps, "code": pa.array([f"c{i % 5000}" for i in range(n)], pa.string())})
    one = tmp_path / "one.parquet"
    pq.write_table(table.combine_chunks(), one, compression="zstd", row_group_size=1_000_000)
    for size in (2048, 999_999, 1_000_000):
        path = tmp_path / f"by-{size}.parquet"
        emit.write_parquet(pa.Table.from_batches(table.to_batches(max_chunksize=size)), path)
        assert path.read_bytes() == one.read_bytes(), size
    assert pq.ParquetFile(one).metadata.num_row_groups == 2
    empty = tmp_path / "empty.parquet"
    emit.write_parquet(table.slice(0, 0), empty)
    pq.write_table(table.slice(0, 0), one, compression="zstd", row_group_size=1_000_000)
    assert empty.read_bytes() == one.read_bytes()


def test_csv_rows_keep_the_tables_order_over_many_chunks(tmp_path):
    """DuckDB writes CSV in parallel; the rows must still come out in the table's order."""
    import pyarrow as pa

    from pipeline.billing import emit

    n = 300_000
    chunks = [pa.table({"invoice_id": [f"in_{i:07d}" for i in range(k, n, 3)],
                        "currency": ["USD"] * len(range(k, n, 3))}) for k in range(3)]
    table = pa.concat_tables(chunks)  # three chunks, their rows interleaved in id order
    emit.write_csv(table, tmp_path / "t.csv", {"USD": 2})
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0] == "invoice_id,currency"
    assert [r.split(",")[0] for r in rows[1:]] == table.column("invoice_id").to_pylist()
