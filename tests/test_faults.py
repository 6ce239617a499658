"""Crashes and faults of `run`: the output folder is complete or absent, whatever happens and whenever.

- SIGKILL at chosen points of the write (before and after each file, around the publication), and
  at random moments of whole runs of a generated 200,000-event workspace: afterwards the output
  folder is absent, or complete and byte-identical to the output of an undisturbed run (the old
  one or the new one when a run replaces an earlier output, never a mix); no visible stray
  folder; the next run succeeds and removes the hidden staging folders of the dead ones.
- A full disk (a small tmpfs in a private mount namespace where the system allows it; injected
  ENOSPC everywhere else) and a read-only workspace or output folder: one clean error line, exit
  1, nothing partial, an earlier output untouched.

`USAGEBILL_KILLS` (default 15) sets the number of random kills (`make soak` runs 200);
`USAGEBILL_RELIABILITY_LOG=FILE` appends the figures of each kill test as JSON lines.
"""
from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import SCENARIOS, run_bill

from pipeline.billing import emit, run
from pipeline.billing.run import write_outputs
from pipeline.core import io
from pipeline.core.errors import OutputError

PYTHON = sys.executable
USAGEBILL = str(Path(PYTHON).with_name("usagebill"))
CRASH_AT = str(Path(__file__).with_name("crash_at.py"))
EXAMPLE = SCENARIOS / "example" / "ws"
NEW = ("--from", "2026-10-01", "--to", "2026-11-01")
OLD = ("--from", "2026-09-01", "--to", "2026-10-01")  # an earlier output, different bytes
FILES = ["daily_usage.parquet", "invoice_lines.csv", "invoice_lines.parquet", "invoices.csv", "invoices.parquet",
         "manifest.json", "quarantine.parquet", "report.html", "usage.parquet"]
# the manifest also holds timings; the report compares with earlier runs beside it, so a rerun's differs
DATA = [f for f in FILES if f not in ("manifest.json", "report.html")]
KILLS = int(os.environ.get("USAGEBILL_KILLS", "15"))
SEED = int(os.environ.get("USAGEBILL_KILL_SEED", "6"))


def data_of(folder: Path) -> dict[str, bytes]:
    assert sorted(p.name for p in folder.iterdir()) == FILES, sorted(p.name for p in folder.iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    return {"run_id": manifest["run_id"].encode(), **{f: (folder / f).read_bytes() for f in DATA}}


def state_of(out: Path, versions: dict[str, dict[str, bytes]]) -> str:
    """'absent', or the name of the complete output `out` holds; anything else fails the test."""
    visible = sorted(p.name for p in out.parent.iterdir() if not p.name.startswith("."))
    assert visible in ([], [out.name]), f"stray folders beside the output: {visible}"
    if not out.exists():
        return "absent"
    got = data_of(out)
    for name, data in versions.items():
        if got == data:
            return name
    raise AssertionError("the output folder is neither the old nor the new complete output")


def log_figures(figures: dict) -> None:
    path = os.environ.get("USAGEBILL_RELIABILITY_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(figures, sort_keys=True) + "\n")


# chosen crash points ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example_outputs(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("reference")
    write_outputs(run_bill(EXAMPLE, "2026-10-01", "2026-11-01"), root / "new")
    write_outputs(run_bill(EXAMPLE, "2026-09-01", "2026-10-01"), root / "old")
    return {"old": data_of(root / "old"), "new": data_of(root / "new"), "_root": root}


# (where, nth call, before/after, an earlier output in the folder?, two renames?) -> what must be there after
CRASH_POINTS = [
    ("pipeline.billing.ingest:classify", 1, "before", False, False, "absent"),
    ("pipeline.billing.emit:write_parquet", 1, "after", False, False, "absent"),
    ("pipeline.billing.emit:write_csv", 2, "after", False, False, "absent"),
    ("pipeline.billing.run:write_bytes", 1, "after", False, False, "absent"),
    ("pipeline.core.io:_fsync_dir", 1, "after", False, False, "absent"),
    ("pipeline.core.io:_publish", 1, "after", False, False, "new"),
    ("pipeline.core.io:_fsync_dir", 2, "after", False, False, "new"),
    ("pipeline.billing.run:write_bytes", 1, "after", True, False, "old"),
    ("pipeline.core.io:_publish", 1, "before", True, False, "old"),
    ("pipeline.core.io:_exchange", 1, "after", True, False, "new"),
    ("pipeline.core.io:_publish", 1, "after", True, False, "new"),
    ("os:rename", 2, "after", True, True, "absent"),  # two renames: between them, no output (documented)
    ("os:rename", 3, "after", True, True, "new"),
]


CRASH_IDS = [f"{w}#{n}-{b}{'-replace' if r else ''}{'-2renames' if x else ''}" for w, n, b, r, x, _ in CRASH_POINTS]


@pytest.fixture(scope="module")
def crashed(example_outputs, tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every crash point's run, killed; run side by side (each in its own folder) to save time."""
    def crash(point: tuple) -> tuple[subprocess.CompletedProcess, Path]:
        where, nth, when, replace, no_exchange, _ = point
        out = tmp_path_factory.mktemp("crash") / "parent" / "out"
        out.parent.mkdir()
        if replace:
            shutil.copytree(example_outputs["_root"] / "old", out)
        flags = ["--no-exchange"] if no_exchange else []
        return subprocess.run([PYTHON, CRASH_AT, where, str(nth), when, *flags, "--", "run", str(EXAMPLE), *NEW,
                               "--out", str(out), "--threads", "1"], capture_output=True, text=True, timeout=300), out

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(CRASH_IDS, pool.map(crash, CRASH_POINTS)))


@pytest.mark.parametrize("point", CRASH_IDS)
def test_kill_at_a_chosen_point(example_outputs, crashed, point):
    expected = CRASH_POINTS[CRASH_IDS.index(point)][-1]
    p, out = crashed[point]
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stderr)  # the point was reached
    versions = {k: v for k, v in example_outputs.items() if not k.startswith("_")}
    assert state_of(out, versions) == expected
    log_figures({"test": "crash_point", "point": point, "state": expected})
    # the next run succeeds, and removes the hidden leftovers of the killed one
    write_outputs(run_bill(EXAMPLE, "2026-10-01", "2026-11-01"), out)
    assert state_of(out, versions) == "new"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


# random kills of whole runs ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("generated")
    ws = root / "ws"
    subprocess.run([PYTHON, str(Path(__file__).resolve().parent / "tools" / "generate.py"), str(ws), "--customers",
                    "300", "--events", "200000",
                    "--seed", "1"], check=True, capture_output=True, timeout=120)
    versions = {}
    for name, window in (("old", OLD), ("new", NEW)):  # the second run times a whole run, and its writing
        start = time.perf_counter()
        proc = subprocess.Popen([USAGEBILL, "run", str(ws), *window, "--out", str(root / name), "--threads", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        emitting = next(time.perf_counter() for line in proc.stderr if line.rstrip().endswith("] emit"))
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        versions[name] = data_of(root / name)
        seconds, writing = time.perf_counter() - start, time.perf_counter() - emitting
    return {"ws": ws, "root": root, "versions": versions, "seconds": seconds, "writing": writing}


def kill_lane(generated: dict, out: Path, kills: int, rng: random.Random) -> tuple[Counter, Counter, int]:
    """`kills` runs into `out`, each SIGKILLed: half anywhere in the run, half while it writes (after its
    `emit` progress line); every other run replaces an earlier output. Checks the folder after each, and
    counts the hidden staging folders the killed runs left (each next run removes them)."""
    outcomes: Counter = Counter()
    phases: Counter = Counter()
    left: set[str] = set()
    for i in range(kills):
        left |= {p.name for p in out.parent.iterdir() if p.name.startswith(".")}
        replace = i % 2 == 1
        if replace and state_of(out, generated["versions"]) != "old":
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(generated["root"] / "old", out)
        elif not replace:
            shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.Popen([USAGEBILL, "run", str(generated["ws"]), *NEW, "--out", str(out), "--threads", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if i % 4 < 2:
            time.sleep(rng.uniform(0, generated["seconds"] * 1.2))
            phase = "anywhere"
        else:
            for line in proc.stderr:
                if line.rstrip().endswith("] emit"):
                    break
            time.sleep(rng.uniform(0, generated["writing"] * 1.2))
            phase = "while writing"
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        stages = [x.rsplit("] ", 1)[-1] for x in err.splitlines() if x.startswith("usagebill: [")]
        phases[f"stage reached: {'emit' if phase == 'while writing' else (stages or ['start-up'])[-1]}"] += 1
        finished = proc.returncode == 0
        state = state_of(out, generated["versions"])
        assert not (finished and state != "new")
        outcomes[f"{'replacing' if replace else 'fresh'}, {'finished' if finished else 'killed'}: {state}"] += 1
        phases[phase] += 1
    left |= {p.name for p in out.parent.iterdir() if p.name.startswith(".")}
    return outcomes, phases, len(left)


def test_random_kills_leave_a_complete_output_or_none(generated, tmp_path):
    """Random SIGKILLs in two lanes side by side; then one more run into each folder cleans up and succeeds."""
    lanes = 2
    outs = [tmp_path / f"lane{i}" / "out" for i in range(lanes)]
    for out in outs:
        out.parent.mkdir()
    rngs = [random.Random(SEED * 100 + i) for i in range(lanes)]
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        results = list(pool.map(kill_lane, [generated] * lanes, outs, [KILLS // lanes + (i < KILLS % lanes)
                                                                        for i in range(lanes)], rngs))
    outcomes = sum((r[0] for r in results), Counter())
    phases = sum((r[1] for r in results), Counter())
    leftovers = sum(r[2] for r in results)
    for out in outs:
        p = subprocess.run([USAGEBILL, "run", str(generated["ws"]), *NEW, "--out", str(out)], capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert state_of(out, generated["versions"]) == "new"
        assert sorted(p.name for p in out.parent.iterdir()) == ["out"], "hidden leftovers of killed runs remain"
    assert phases["anywhere"] + phases["while writing"] == KILLS
    log_figures({"test": "random_kills", "kills": KILLS, "seed": SEED, "phases": dict(phases),
                 "outcomes": dict(sorted(outcomes.items())), "hidden_leftovers_cleaned": leftovers})
    print(f"{KILLS} kills: {dict(phases)}; {dict(sorted(outcomes.items()))}; {leftovers} hidden leftovers cleaned")


def test_concurrent_runs_into_one_folder_both_succeed(generated, tmp_path):
    out = tmp_path / "out"
    procs = [subprocess.Popen([USAGEBILL, "run", str(generated["ws"]), *NEW, "--out", str(out), "--threads", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert state_of(out, generated["versions"]) == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# a full disk and a read-only file system, for real (tmpfs and read-only bind mounts in a private namespace) --

def _namespaces() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                          capture_output=True).returncode == 0


NAMESPACES = _namespaces()
needs_namespaces = pytest.mark.skipif(not NAMESPACES, reason="no unprivileged mount namespaces here "
                                                            "(the injected faults below still run)")


def in_namespace(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run `sh -c script` in a private user and mount namespace (mounts vanish with it)."""
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", *args], capture_output=True, text=True,
                          timeout=300)


def error_line(stderr: str) -> str:
    lines = [x for x in stderr.splitlines() if not x.startswith("usagebill: [")]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    return lines[0]


@needs_namespaces
# fails writing invoices.parquet (Arrow), invoices.csv (DuckDB), invoice_lines.csv (DuckDB), usage.parquet (Arrow)
@pytest.mark.parametrize("size", ["16k", "64k", "400k", "800k"])
def test_full_disk_gives_one_clean_error_and_no_output(generated, tmp_path, size):
    disk = tmp_path / "disk"
    disk.mkdir()
    p = in_namespace('mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99; '
                     '"$3" run "$4" --from 2026-10-01 --to 2026-11-01 --out "$2/out"; echo "rc=$?"; ls -A "$2"',
                     size, str(disk), USAGEBILL, str(generated["ws"]))
    assert p.stdout.splitlines()[-1:] == ["rc=1"], (p.stdout, p.stderr)  # and `ls -A` found nothing left
    line = error_line(p.stderr)
    assert "No space left on device)" in line and "check free space" in line, line


@needs_namespaces
def test_full_disk_keeps_the_earlier_output(generated, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    old = generated["root"] / "old"
    filler = (3 << 20) - sum(-(-p.stat().st_size // 4096) * 4096 for p in old.iterdir()) - (200 << 10)
    p = in_namespace('mount -t tmpfs -o size=3m tmpfs "$1" || exit 99; cp -r "$2" "$1/out"; '
                     'head -c "$5" /dev/zero > "$1/filler"; '
                     '"$3" run "$4" --from 2026-10-01 --to 2026-11-01 --out "$1/out"; echo "rc=$?"; ls -A "$1"; '
                     'cd "$1/out" && sha256sum *', str(disk), str(old), USAGEBILL, str(generated["ws"]), str(filler))
    lines = p.stdout.splitlines()
    assert lines[:3] == ["rc=1", "filler", "out"], (p.stdout, p.stderr)
    assert "No space left on device" in error_line(p.stderr)
    expected = subprocess.run("sha256sum *", shell=True, cwd=generated["root"] / "old", capture_output=True,
                              text=True).stdout.splitlines()
    assert lines[3:] == expected, "the earlier output changed"


@needs_namespaces
def test_read_only_workspace(generated, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(generated["ws"], ws)
    writable = tmp_path / "elsewhere"
    p = in_namespace('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99; '
                     'touch "$1/probe" 2>/dev/null && echo "not read-only"; '
                     '"$2" validate "$1" >/dev/null; echo "validate=$?"; '
                     '"$2" run "$1" --from 2026-10-01 --to 2026-11-01; echo "default=$?"; '
                     '"$2" run "$1" --from 2026-10-01 --to 2026-11-01 --out "$1/reports/october"; echo "inside=$?"; '
                     '"$2" run "$1" --from 2026-10-01 --to 2026-11-01 --out "$3" >/dev/null 2>&1; echo "elsewhere=$?"',
                     str(ws), USAGEBILL, str(writable))
    codes = [x for x in p.stdout.splitlines() if re.fullmatch(r"[a-z]+=\d+", x)]
    assert codes == ["validate=0", "default=1", "inside=1", "elsewhere=0"], (p.stdout, p.stderr)
    errors = [x for x in p.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == 2, errors
    assert all("Read-only file system" in e and "choose another --out" in e for e in errors), errors
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr
    assert data_of(writable) == generated["versions"]["new"]
    assert not (ws / "out").exists() and not (ws / "reports").exists()


@needs_namespaces
def test_read_only_output_folder_keeps_the_earlier_output(generated, tmp_path):
    parent = tmp_path / "reports"
    parent.mkdir()
    shutil.copytree(generated["root"] / "old", parent / "out")
    p = in_namespace('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99; '
                     '"$2" run "$3" --from 2026-10-01 --to 2026-11-01 --out "$1/out"; echo "rc=$?"',
                     str(parent), USAGEBILL, str(generated["ws"]))
    assert p.stdout.splitlines()[-1] == "rc=1", (p.stdout, p.stderr)
    assert "Read-only file system" in error_line(p.stderr)
    assert state_of(parent / "out", generated["versions"]) == "old"


# the same faults injected, in-process: everywhere, and on any system ---------------------------------------

def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


_CONNECT = duckdb.connect


class _FullDuckDB:
    """duckdb.connect() whose COPY fails as on a full disk."""

    def __init__(self, **kwargs):  # the writer's connection has a configuration (pipeline/core/db.py)
        self.con = _CONNECT(**kwargs)

    def __getattr__(self, name):
        return getattr(self.con, name)

    def execute(self, query, params=None):
        if query.startswith("COPY"):
            raise duckdb.IOException('IO Error: Async write failed for range [offset=2, size=1000999]: '
                                     '{"exception_type":"IO","exception_message":"Could not write file \\"x.csv\\": '
                                     'No space left on device","errno":"28"}')  # DuckDB 2.0's words
        return self.con.execute(query, params)


class _FullParquetWriter(pq.ParquetWriter):
    """A Parquet file whose header is written, then whose first row group fails as a full disk does."""

    def write_table(self, *args, **kwargs):
        _no_space()


class _FullFile:
    """A file that takes its first bytes (the CSV header), then fails as a full disk does."""

    def __init__(self, path, mode):
        self.file = open(path, mode)  # noqa: SIM115 (closed by __exit__)
        self.written = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    @property
    def closed(self):  # Arrow's CSV writer writes to a Python file, and asks
        return self.file.closed

    def write(self, data):
        if self.written:
            _no_space()
        self.written += len(data)
        return self.file.write(data)


def _duckdb_csv_full(mp):
    mp.setattr(emit, "_arrow_renders", lambda table: False)  # every table through DuckDB's COPY
    mp.setattr(emit.duckdb, "connect", _FullDuckDB)


INJECTED = {
    "parquet writer": lambda mp: mp.setattr(emit.pq, "ParquetWriter", _FullParquetWriter),
    "csv writer": lambda mp: mp.setattr(emit, "open", _FullFile, raising=False),
    "csv writer (DuckDB)": _duckdb_csv_full,
    "manifest": lambda mp: mp.setattr(run, "write_bytes", _no_space),
    "fsync": lambda mp: mp.setattr(io.os, "fsync", _no_space),
    "staging folder": lambda mp: mp.setattr(io.Path, "mkdir", _no_space),
    "publication": lambda mp: mp.setattr(io, "_publish", _no_space),
}


@pytest.fixture(scope="module")
def example_bill():
    return run_bill(EXAMPLE)


@pytest.mark.parametrize("fault", sorted(INJECTED))
@pytest.mark.parametrize("earlier", [False, True], ids=["fresh", "replace"])
def test_injected_no_space(example_bill, example_outputs, tmp_path, monkeypatch, fault, earlier):
    out = tmp_path / "out"
    if earlier:
        shutil.copytree(example_outputs["_root"] / "old", out)
    with monkeypatch.context() as mp:
        INJECTED[fault](mp)
        with pytest.raises(OutputError, match="No space left on device") as info:
            write_outputs(example_bill, out)
    assert "\n" not in str(info.value) and ("free space" in str(info.value))
    versions = {k: v for k, v in example_outputs.items() if not k.startswith("_")}
    assert state_of(out, versions) == ("old" if earlier else "absent")
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out"] if earlier else [])


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_injected_unwritable_output_folder(example_bill, tmp_path, monkeypatch, code):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(io.Path, "mkdir", refuse)
    with pytest.raises(OutputError, match=os.strerror(code)) as info:
        write_outputs(example_bill, tmp_path / "out")
    assert "choose another --out" in str(info.value)
    assert list(tmp_path.iterdir()) == []
