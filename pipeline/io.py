"""Disk I/O that must be safe: input fingerprints and atomic publication of an output folder."""
from __future__ import annotations

import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import OutputError

MARKER = "manifest.json"  # an output folder of ours always has one


def fingerprint(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


@contextmanager
def staged_dir(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside `target`; on success it replaces `target` in one rename.

    A failed or killed run leaves `target` as it was (absent, or the previous complete output):
    the staging folder is removed on error, and one left by a killed process is a hidden
    `.target.tmp-<pid>` sibling that never looks like an output.
    """
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder; choose another --out")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise OutputError(f"{target}: folder is not empty and is not a usagebill output; choose another --out")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = target.parent / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
    except OSError as exc:
        raise OutputError(f"{target.parent}: cannot write the output folder ({exc.strerror}); "
                          "check permissions and free space, or choose another --out") from None
    try:
        yield stage
        for child in stage.iterdir():
            with child.open("rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(stage)
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            os.rename(target, old)
        os.rename(stage, target)
        _fsync_dir(target.parent)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise OutputError(f"{target}: writing the output failed ({exc.strerror}); "
                          "check free space and permissions, then rerun") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
