"""The atomic publication of an output folder (pipeline/core/io.py), in process and fast: the renameat2
exchange and its fallbacks (not Linux, no renameat2 in the C library, a file system without exchange),
the liveness test that decides which staging folders of earlier runs are stale, the cleanup that must
never turn a published output into an error, and the errors of a failed write.

The crash tests (tests/test_faults.py) kill real runs around these steps; these pin each step's own
contract, including paths the crash tests cannot reach on a Linux machine with renameat2.
"""
from __future__ import annotations

import ctypes
import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core import io as uio
from pipeline.core.errors import OutputError

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")


def folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "manifest.json").write_text(text)
    return path


def content(path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in path.iterdir()}


def publish(target: Path, text: str) -> None:
    with uio.staged_dir(target) as stage:
        (stage / "manifest.json").write_text(text)
        (stage / "invoices.csv").write_text(f"{text} invoices\n")


class FakeLibc:
    """A C library whose renameat2 fails with `err` (or that has no renameat2 when err is None)."""

    def __init__(self, err: int | None):
        if err is not None:
            def renameat2(*args):
                ctypes.set_errno(err)
                return -1
            self.renameat2 = renameat2


def fake_libc(monkeypatch, err: int | None) -> None:
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **kw: FakeLibc(err))


@pytest.fixture
def busy(monkeypatch):
    """Folders whose final rmdir fails with EBUSY (a mount point, a file still open over NFS): a cleanup
    that cannot finish. Returns the set to put such folders in."""
    paths: set[Path] = set()
    real = os.rmdir

    def rmdir(path, *args, dir_fd=None, **kwargs):
        if dir_fd is None and Path(path) in paths:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(path))
        return real(path, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(os, "rmdir", rmdir)
    return paths


# _exchange ---------------------------------------------------------------------------------------------------

@linux_only
def test_exchange_swaps_two_folders_named_relative_to_the_working_folder(tmp_path, monkeypatch):
    folder(tmp_path / "a", "A")
    folder(tmp_path / "b", "B")
    monkeypatch.chdir(tmp_path)  # relative names are resolved against the working folder (AT_FDCWD)
    assert uio._exchange(Path("a"), Path("b")) is True
    assert content(tmp_path / "a") == {"manifest.json": "B"}
    assert content(tmp_path / "b") == {"manifest.json": "A"}


@linux_only
def test_exchange_with_a_missing_folder_raises_the_systems_error(tmp_path):
    a = folder(tmp_path / "a", "A")
    ctypes.set_errno(0)
    with pytest.raises(OSError) as caught:
        uio._exchange(a, tmp_path / "absent")
    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == str(tmp_path / "absent")
    assert content(a) == {"manifest.json": "A"} and not (tmp_path / "absent").exists()


def test_exchange_is_not_attempted_off_linux(tmp_path, monkeypatch):
    a, b = folder(tmp_path / "a", "A"), folder(tmp_path / "b", "B")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert uio._exchange(a, b) is False
    assert content(a) == {"manifest.json": "A"} and content(b) == {"manifest.json": "B"}


@pytest.mark.parametrize("missing", ["no C library", "no renameat2"])
def test_exchange_without_renameat2_says_so(tmp_path, monkeypatch, missing):
    a, b = folder(tmp_path / "a", "A"), folder(tmp_path / "b", "B")
    monkeypatch.setattr(sys, "platform", "linux")
    if missing == "no C library":
        def cdll(*args, **kwargs):
            raise OSError("libc.so.6: cannot open shared object file")
        monkeypatch.setattr(ctypes, "CDLL", cdll)
    else:
        fake_libc(monkeypatch, None)
    assert uio._exchange(a, b) is False
    assert content(a) == {"manifest.json": "A"} and content(b) == {"manifest.json": "B"}


@pytest.mark.parametrize("err", [errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP])
def test_exchange_on_a_file_system_without_it_says_so(tmp_path, monkeypatch, err):
    a, b = folder(tmp_path / "a", "A"), folder(tmp_path / "b", "B")
    monkeypatch.setattr(sys, "platform", "linux")
    fake_libc(monkeypatch, err)
    assert uio._exchange(a, b) is False


@pytest.mark.parametrize("err", [errno.EXDEV, errno.EACCES, errno.ENOENT])
def test_exchange_raises_any_other_failure(tmp_path, monkeypatch, err):
    a, b = folder(tmp_path / "a", "A"), folder(tmp_path / "b", "B")
    monkeypatch.setattr(sys, "platform", "linux")
    fake_libc(monkeypatch, err)
    with pytest.raises(OSError) as caught:
        uio._exchange(a, b)
    assert (caught.value.errno, caught.value.strerror, caught.value.filename) == (err, os.strerror(err), str(b))


# _alive ------------------------------------------------------------------------------------------------------

def test_alive_for_this_process():
    assert uio._alive(os.getpid()) is True


def test_alive_for_a_running_process_and_the_probe_sends_no_signal():
    # the child takes SIGHUP's default action (ending it) even when started under nohup, and says when it does
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                              "signal.signal(signal.SIGHUP, signal.SIG_DFL); print('ready', flush=True); "
                              "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        assert uio._alive(child.pid) is True
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait()
        child.stdout.close()
    # had the probe sent a real signal (SIGHUP = 1) it would have ended the child first (the lower-numbered
    # pending signal is delivered first)
    assert child.returncode == -signal.SIGTERM


def test_not_alive_for_a_process_that_has_exited():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # exited and reaped: its pid names no process
    assert uio._alive(child.pid) is False


def test_alive_for_a_process_we_may_not_signal(monkeypatch):
    if os.geteuid() != 0:
        assert uio._alive(1) is True  # init: exists, but signalling it is refused

    def kill(pid, sig):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "kill", kill)
    assert uio._alive(os.getpid() + 1) is True


# staged_dir / _publish ---------------------------------------------------------------------------------------

def test_first_publication_into_folders_that_do_not_exist_yet(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    publish(out, "new")
    assert content(out) == {"manifest.json": "new", "invoices.csv": "new invoices\n"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


@linux_only
def test_replacing_an_earlier_output_by_exchange(tmp_path):
    out = folder(tmp_path / "out", "old")
    publish(out, "new")
    assert content(out) == {"manifest.json": "new", "invoices.csv": "new invoices\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("why", ["not linux", "no renameat2", "file system without exchange"])
def test_replacing_an_earlier_output_by_two_renames(tmp_path, monkeypatch, why):
    out = folder(tmp_path / "out", "old")
    if why == "not linux":
        monkeypatch.setattr(sys, "platform", "darwin")
    else:
        monkeypatch.setattr(sys, "platform", "linux")
        fake_libc(monkeypatch, None if why == "no renameat2" else errno.EINVAL)
    renames = []
    real = os.rename
    monkeypatch.setattr(os, "rename", lambda a, b: (renames.append((Path(a).name, Path(b).name)), real(a, b))[1])
    publish(out, "new")
    pid = os.getpid()
    # the stage is tried first (refused: out is not empty), then out is moved aside and the stage put in
    assert renames == [(f".out.tmp-{pid}", "out"), ("out", f".out.old-{pid}"), (f".out.tmp-{pid}", "out")]
    assert content(out) == {"manifest.json": "new", "invoices.csv": "new invoices\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .old- or .tmp- folder left


@linux_only
def test_an_earlier_output_that_cannot_be_removed_after_the_exchange_does_not_fail_the_run(tmp_path, busy):
    out = folder(tmp_path / "out", "old")
    busy.add(tmp_path / f".out.tmp-{os.getpid()}")  # after the exchange the stage holds the earlier output
    publish(out, "new")
    assert content(out) == {"manifest.json": "new", "invoices.csv": "new invoices\n"}


def test_an_earlier_output_that_cannot_be_removed_after_two_renames_does_not_fail_the_run(tmp_path, monkeypatch,
                                                                                          busy):
    out = folder(tmp_path / "out", "old")
    monkeypatch.setattr(sys, "platform", "darwin")
    busy.add(tmp_path / f".out.old-{os.getpid()}")
    publish(out, "new")
    assert content(out) == {"manifest.json": "new", "invoices.csv": "new invoices\n"}


def test_staging_folders_of_dead_runs_are_removed_and_those_of_running_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        for name in (f".out.tmp-{dead.pid}", f".out.old-{dead.pid}", f".out.tmp-{running.pid}",
                     f".other.tmp-{dead.pid}"):
            folder(tmp_path / name, "partial")
        publish(tmp_path / "out", "new")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["out", f".out.tmp-{running.pid}", f".other.tmp-{dead.pid}"])
    finally:
        running.kill()
        running.wait()


def test_a_stale_staging_folder_that_cannot_be_removed_does_not_stop_the_run(tmp_path, busy):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder(tmp_path / f".out.tmp-{dead.pid}", "partial")
    busy.add(tmp_path / f".out.tmp-{dead.pid}")
    publish(tmp_path / "out", "new")
    assert content(tmp_path / "out") == {"manifest.json": "new", "invoices.csv": "new invoices\n"}


@pytest.mark.parametrize("fault", ["no space", "output error", "interrupt"])
def test_a_failed_write_keeps_the_earlier_output_even_when_its_stage_cannot_be_removed(tmp_path, busy, fault):
    out = folder(tmp_path / "out", "old")
    busy.add(tmp_path / f".out.tmp-{os.getpid()}")
    raised = {"no space": OSError(errno.ENOSPC, "No space left on device"),
              "output error": OutputError("invoices.csv: cannot be written"),
              "interrupt": KeyboardInterrupt()}[fault]
    expected = KeyboardInterrupt if fault == "interrupt" else OutputError
    with pytest.raises(expected) as caught, uio.staged_dir(out) as stage:
        (stage / "manifest.json").write_text("partial")
        raise raised
    if fault == "no space":
        assert str(caught.value) == (f"{out}: writing the output failed (No space left on device); "
                                     "check free space and permissions, then rerun")
    elif fault == "output error":
        assert str(caught.value) == f"{out}: invoices.csv: cannot be written"
    assert content(out) == {"manifest.json": "old"}
    assert not (tmp_path / f".out.tmp-{os.getpid()}" / "manifest.json").exists()  # the partial file is gone
