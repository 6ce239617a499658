"""Disk I/O that must be safe: input fingerprints and atomic publication of an output folder."""
from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

MARKER = "manifest.json"  # an output folder of ours always has one


def fingerprint(path: Path, chunk: int = 1 << 20) -> str:  # pragma: no mutate - read size only; same digest
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


RENAME_EXCHANGE, AT_FDCWD = 2, -100  # <linux/fs.h>, <fcntl.h>


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux renameat2); False where the system cannot,
    so the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # a file system without exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(target: Path) -> None:
    """Staging folders of killed runs (`.NAME.tmp-PID`, `.NAME.old-PID` whose process is gone)."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:tmp|old)-(\d+)")
    for path in target.parent.iterdir():
        if (m := pattern.fullmatch(path.name)) and not _alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)


def _publish(stage: Path, target: Path) -> None:
    """Put the complete `stage` folder at `target` in one step: an observer, or a crash at any moment,
    sees the previous output or the new one, never a partial one (two renames where exchange is
    unavailable: then a crash between them leaves no output, and the previous one in a hidden folder)."""
    try:
        os.rename(stage, target)  # no target yet (or an empty one)
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if _exchange(stage, target):
        shutil.rmtree(stage, ignore_errors=True)  # now the previous output
    else:
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.rename(target, old)
        os.rename(stage, target)
        shutil.rmtree(old, ignore_errors=True)


def os_reason(exc: OSError) -> str:
    """The operating system's words ('[errno 28]' in an Arrow message -> No space left on device)."""
    if m := re.search(r"\[errno (\d+)\]", str(exc), re.IGNORECASE):
        return os.strerror(int(m.group(1)))
    return exc.strerror or str(exc)


@contextmanager
def staged_dir(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside `target`; on success it replaces `target` in one step.

    A failed or killed run leaves `target` as it was (absent, or the previous complete output):
    the staging folder is removed on error, and one left by a killed process is a hidden
    `.target.tmp-<pid>` sibling that never looks like an output (the next run into the same
    target removes it).
    """
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder; choose another --out")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise OutputError(f"{target}: folder is not empty and is not a usagebill output; choose another --out")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(target)
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
        _publish(stage, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise OutputError(f"{target}: writing the output failed ({os_reason(exc)}); "
                          "check free space and permissions, then rerun") from None
    except OutputError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise OutputError(f"{target}: {exc}") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
