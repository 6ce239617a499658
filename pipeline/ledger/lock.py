"""One writer at a time: an OS file lock beside the ledger, held around the whole read-rate-write.

DuckDB already refuses a second read-write process on one file, but only while the file is open;
two processes could both read the ledger, both rate, and then take turns writing. The lock file
(`ledger.duckdb.lock`, never deleted) closes that gap: writers take it exclusively for the
whole batch, readers take it shared while they read. The kernel releases it when a process
dies, even by kill -9, so a crashed batch never leaves the ledger locked.
"""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import BillingError

POLL_SECONDS = 0.05


class LedgerBusy(BillingError):
    """Another usagebill process holds the ledger for longer than --wait."""


def busy_message(ledger: Path, wait: float) -> str:
    waited = f" (waited {wait:g} s)" if wait > 0 else ""
    return (f"ledger {ledger} is in use by another usagebill process{waited}; try again when it finishes, "
            "or pass a longer --wait")


def lock_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".lock")


@contextmanager
def ledger_lock(ledger: Path, *, exclusive: bool, wait: float) -> Iterator[float]:
    """Hold the ledger's lock file (exclusive for writers, shared for readers); wait up to `wait` seconds.

    Yields the monotonic deadline, so that opening the database can wait until the same moment.
    """
    path = lock_path(ledger)
    deadline = time.monotonic() + wait
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise BillingError(f"{path}: cannot open the ledger's lock file ({exc.strerror}); "
                           "check that the folder exists and is writable, or pass another --ledger") from None
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LedgerBusy(busy_message(ledger, wait)) from None
                time.sleep(POLL_SECONDS)
        yield deadline
    finally:
        os.close(fd)  # closing the descriptor releases the lock
