"""Scale-out commands: repartition (the Dask engine is `run --engine dask`)."""
from __future__ import annotations

from pathlib import Path

import click

from .common import LIMITS, options, progress


@click.command("repartition")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="New folder: a workspace when SOURCE is one (configuration copied), else an events folder.")
@click.option("--buckets", type=click.IntRange(1, 9999), default=64, show_default=True,
              help="Customer buckets; a dask run whose --shards divides this reads only its own files.")
@options(LIMITS)
def repartition_command(source: Path, out: Path, buckets: int, threads: int | None, memory_limit: str | None) -> None:
    """Rewrite the events of SOURCE (a workspace or an events folder) bucketed by customer and day.

    OUT/events/bucket=NN/event_date=YYYY-MM-DD/part-0.parquet: every row and column kept, so runs
    bill the same; `--engine dask` shards then read only their own buckets' files.

    Example: usagebill repartition ws/ --out ws-bucketed/ --buckets 64
    """
    from ..scale_out.repartition import repartition

    with progress() as report:
        done = repartition(source, out, buckets, threads=threads, memory_limit=memory_limit, progress=report)
    click.echo(f"repartitioned {done.events} events into {done.files} files, {done.buckets} buckets: {done.out}")


COMMANDS = (repartition_command,)
