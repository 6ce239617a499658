"""engine: rate on this machine (`local`), or sharded by customer over a Dask cluster (`dask`), same bytes.

`bill_with(engine, workspace, args, ...)` has `bill()`'s signature and result. With `dask`:

1. the driver (this process) loads and checks the workspace and every event file's footer,
   and starts fingerprinting the inputs in a thread, as a local run does;
2. it cuts the run into shards by customer (pipeline/billing/shards.py) and submits one task per shard:
   `rate_shard` runs `rate_part(..., shard)` on a worker, the same stage code over the whole
   run's span, and returns its part (counts and small Arrow tables: invoices, lines, usage,
   quarantined rows). A worker that dies mid-task loses nothing: Dask runs the task again
   elsewhere (distributed.scheduler.allowed-failures, 3 by default), and a task has no side
   effect to undo;
3. the driver merges the parts in a run's order (pipeline/scale_out/merge.py), derives the run_id from the
   same version, arguments and fingerprints, and checks the whole with the same Pandera models.
   Numbering (issue, nightly) happens after that, on the driver.

Neither the engine nor the shard count changes the run_id or any byte of the outputs.
The workers must see the workspace at the same path (a shared file system) and run the same
usagebill and DuckDB versions as the driver (checked).
"""
from __future__ import annotations

import gc
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .. import __version__
from ..billing.run import bill, fingerprints, finished, rate_part, validated
from ..billing.shards import Shard
from ..billing.types import Bill, Part, RunArgs, Stopwatch
from ..core.db import connect
from ..core.errors import BillingError
from . import merge
from .layout import event_days, plan, read_layout

ENGINES = ("local", "dask")
DUCKDB_MEMORY_SHARE = 0.6  # of a Dask worker's memory limit, when --memory-limit is not given


@dataclass(frozen=True)
class Engine:
    """Where a run rates. scheduler: a Dask scheduler address (tcp://host:8786) or scheduler file;
    None starts a LocalCluster of `workers` processes (default: one per CPU), unless `client` is
    given. shards: tasks (default: the cluster's worker threads, adjusted to divide a bucket
    layout's bucket count)."""

    name: str = "local"
    scheduler: str | None = None
    shards: int | None = None
    workers: int | None = None
    client: object = None  # a connected distributed.Client to use (Dask Gateway, dask-kubernetes, dask-jobqueue)


def bill_with(engine: Engine | None, workspace: Path, args: RunArgs, *, threads: int | None = None,
              memory_limit: str | None = None, progress: Callable[[str], None] | None = None,
              report: dict | None = None) -> Bill:
    """`bill()` on the chosen engine. `report`, if given, receives how a dask run was cut and ran."""
    if engine is None or engine.name == "local":
        return bill(workspace, args, threads=threads, memory_limit=memory_limit, progress=progress)
    if engine.name != "dask":
        raise BillingError(f"--engine {engine.name}: unknown engine; use one of {', '.join(ENGINES)}")
    return _dask_bill(engine, workspace, args, threads, memory_limit, progress, {} if report is None else report)


def versions() -> dict[str, str]:
    return {"usagebill": __version__, "duckdb": duckdb.__version__}


def rate_shard(workspace: str, args: RunArgs, shard: Shard, threads: int | None,
               memory_limit: str | None) -> dict:
    """One Dask task: rate one shard on a worker. DuckDB gets the given threads and memory, or a
    share of the worker's memory limit; nothing is written."""
    os.environ.setdefault("POLARS_MAX_THREADS", str(threads or 1))
    if memory_limit is None:
        memory_limit = _worker_memory()
    part = rate_part(Path(workspace), args, shard, threads=threads, memory_limit=memory_limit)
    gc.unfreeze()  # a worker rates task after task: what a task left behind goes back to its collector
    return {"part": part, "versions": versions(), "host": socket.gethostname(), "pid": os.getpid()}


def _worker_memory() -> str | None:
    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ImportError, ValueError, AttributeError):
        return None
    return f"{int(limit * DUCKDB_MEMORY_SHARE) >> 20}MiB" if limit else None


@contextmanager
def _client(engine: Engine, threads: int | None) -> Iterator[tuple[object, int | None]]:
    """A connected Dask client, and the DuckDB threads per task (local cluster: the cores it shares)."""
    from distributed import Client, LocalCluster

    if engine.client is not None:  # the caller's cluster: used, not closed
        yield engine.client, threads
        return
    if engine.scheduler:
        try:
            if Path(engine.scheduler).is_file():
                client = Client(scheduler_file=engine.scheduler, timeout="30s")
            else:
                client = Client(engine.scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise BillingError(f"--scheduler {engine.scheduler}: cannot reach the Dask scheduler ({exc}); check the "
                               "address (tcp://HOST:PORT or a scheduler file), or leave --scheduler out to start a "
                               "local cluster") from None
        with client:
            yield client, threads
        return
    workers = engine.workers or os.cpu_count() or 1
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client, threads or max(1, (os.cpu_count() or 1) // workers)


def default_shards(worker_threads: int, buckets: int | None) -> int:
    """The cluster's worker threads; with a bucket layout, the largest divisor of its bucket count
    not above that (so that each shard reads only its own files)."""
    n = max(1, worker_threads)
    if buckets:
        n = max(d for d in range(1, min(n, buckets) + 1) if buckets % d == 0)
    return n


def _dask_bill(engine: Engine, workspace: Path, args: RunArgs, threads: int | None, memory_limit: str | None,
               progress: Callable[[str], None] | None, report: dict) -> Bill:
    from distributed import as_completed

    watch = Stopwatch(progress)
    with watch.stage("validate"):
        ws, events, scope = validated(workspace, args)
    hashing = ThreadPoolExecutor(max_workers=1).submit(fingerprints, ws, events)  # overlaps the shards
    relative = [events.relative(p) for p in events.files]
    # a bucket layout lets each shard read only its own files; in object storage every shard reads every
    # object (keeping its customers' rows), and each worker reads it with the AWS_* variables it was started with
    buckets = None if events.remote else read_layout(events.root, relative)
    with _client(engine, threads) as (client, task_threads):
        if engine.shards is None and not client.nthreads():
            client.wait_for_workers(1, timeout=60)
        count = engine.shards or default_shards(sum(client.nthreads().values()), buckets)
        shards = plan(relative, count, buckets, event_days(scope, args.dedup_window_days))
        report.update(shards=count, buckets=buckets, own_files=shards[0].files is not None, tasks=[],
                      files=[len(s.files) if s.files is not None else len(relative) for s in shards])
        watch.progress(f"{count} shards on {len(client.nthreads())} Dask workers, "
                       + ("each reading its own bucket files" if report["own_files"] else "each reading every file"))
        root = str(Path(workspace).resolve())
        futures = {client.submit(rate_shard, root, args, s, task_threads, memory_limit, pure=False,
                                 key=f"usagebill-shard-{s.index}-of-{count}-{uuid.uuid4().hex}"): s.index
                   for s in shards}
        results: list[dict] = [{}] * count
        with watch.stage("shards"):
            for done, future in enumerate(as_completed(futures), 1):
                results[futures[future]] = future.result()  # a shard's BillingError is raised here, as locally
                watch.progress(f"shards {done}/{count}")
    for out in results:
        if out["versions"] != versions():
            raise BillingError(f"Dask worker {out['host']} runs {out['versions']}, this driver {versions()}: "
                               "install the same usagebill and DuckDB versions on every worker (outputs must be "
                               "the same bytes)")
        report["tasks"].append({"host": out["host"], "pid": out["pid"], "seconds": out["part"].timings,
                                "events": out["part"].counts["read"]})
    parts = [out["part"] for out in results]
    with watch.stage("merge"):
        inv_t = merge.invoices(parts)
        line_t = merge.lines(parts, inv_t.column("invoice_id"))
        usage_t = merge.usage(parts, inv_t.column("invoice_id"))
        con = connect(1)
        try:
            quarantine = merge.quarantine(parts, events, con)
        finally:
            con.close()
    digits = {p.currency: p.digits for p in ws.pricebook.plans.values()}
    merged = Part(args, merge.counts(parts), inv_t, line_t, usage_t, quarantine, digits, watch.timings,
                  daily_usage=merge.daily_usage(parts))
    return finished(merged, ws, scope, hashing, watch)
