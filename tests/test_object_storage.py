"""Events in S3-compatible object storage, served by a real S3 API on loopback (moto's server mode).

The same workspace billed from its events/ folder and from a copy of those files in a bucket gives the
same bytes; the folder's rules hold (Hive folders, hidden names, non-Parquet objects); footers prune
row groups (far fewer bytes fetched than the objects hold); a missing bucket, a wrong credential and
a corrupt object are each one error line naming it; the secret key never appears anywhere.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SCENARIOS
from loopback import SECRET_KEY, start_s3

CLI = [str(Path(sys.executable).with_name("usagebill"))]
EXAMPLE = SCENARIOS / "example" / "ws"
BUCKET = "usagebill-events"
DATA_FILES = ("invoices.parquet", "invoices.csv", "invoice_lines.parquet", "invoice_lines.csv", "usage.parquet",
              "quarantine.parquet", "daily_usage.parquet")


@pytest.fixture(scope="module")
def s3():
    server = start_s3()
    server.client().create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    try:
        yield server
    finally:
        server.server.stop()


@pytest.fixture
def aws(s3, tmp_path, monkeypatch):
    """This process and its children talk to the loopback server only."""
    env = s3.env(tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(k, raising=False)
    return {**os.environ, **env}


def usagebill(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=300, env=env)


def error_lines(p: subprocess.CompletedProcess) -> list[str]:
    return [x for x in p.stderr.splitlines() if x.strip() and not x.startswith("usagebill: [")]


def local_and_bucket(aws: dict, tmp_path: Path, prefix: str, *args) -> subprocess.CompletedProcess:
    """`usagebill run EXAMPLE *args` from the example's folder and from s3://BUCKET/prefix: both succeed and
    write the same bytes in every data file; returns the bucket's run."""
    local = usagebill(aws, "run", EXAMPLE, *args, "--out", tmp_path / "local")
    remote = usagebill(aws, "run", EXAMPLE, *args, "--events", f"s3://{BUCKET}/{prefix}", "--out", tmp_path / "s3")
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    for name in DATA_FILES:
        assert (tmp_path / "s3" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    return remote


def test_a_workspace_billed_from_a_bucket_is_byte_identical_to_its_local_copy(s3, aws, tmp_path):
    uploaded = s3.upload_folder(EXAMPLE / "events", BUCKET, "example/")
    assert sorted(uploaded) == ["part=0/events.parquet", "part=1/events.parquet"]  # Hive folders, as in the bucket
    s3.client().put_object(Bucket=BUCKET, Key="example/_SUCCESS", Body=b"")  # ignored, like in a folder
    remote = local_and_bucket(aws, tmp_path, "example/", "--from", "2026-10-01", "--to", "2026-11-01", "--no-report")
    a = json.loads((tmp_path / "local" / "manifest.json").read_text())
    b = json.loads((tmp_path / "s3" / "manifest.json").read_text())
    for key in ("counts", "totals", "warnings", "outputs"):
        assert a[key] == b[key], key
    assert a["counts"]["read"] == 5437  # the example's events, as conformance counts them
    # fingerprints: sha256 of the local files, ETag (here the MD5 of a single-part upload) and size of the objects
    for rel, data in uploaded.items():
        assert a["inputs"][f"events/{rel}"] == hashlib.sha256(data).hexdigest()
        assert b["inputs"][f"events/{rel}"] == f"etag {hashlib.md5(data).hexdigest()} size {len(data)}"
    assert b["arguments"]["events"] == f"s3://{BUCKET}/example/" and "events" not in a["arguments"]
    for text in (remote.stdout, remote.stderr, *(p.read_text(errors="replace") for p in (tmp_path / "s3").iterdir())):
        assert SECRET_KEY not in text


def test_a_selection_billed_from_a_bucket_is_byte_identical_to_its_local_copy(s3, aws, tmp_path):
    """A run of some contracts stages their customers' rows from the objects once (ingest.stage_selected),
    quarantined rows with their columns included, as it does from a folder."""
    s3.upload_folder(EXAMPLE / "events", BUCKET, "selected/")
    local_and_bucket(aws, tmp_path, "selected/", "--from", "2026-10-01", "--to", "2026-11-01", "--no-report",
                     "--contract", "acme-1", "--contract", "globex-1")
    counts = json.loads((tmp_path / "s3" / "manifest.json").read_text())["counts"]
    assert 0 < counts["billed"] < 5437  # the two customers' events, not all
    assert counts["unmetered"] + counts["no_active_contract"] > 0  # quarantined rows, read back from the staged ones


def test_settings_yaml_names_the_bucket_and_the_ledger_commands_read_it(s3, aws, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLE, ws)
    s3.upload_folder(ws / "events", BUCKET, "settings/")
    shutil.rmtree(ws / "events")  # nothing local left to read by mistake
    (ws / "settings.yaml").write_text(f"events: s3://{BUCKET}/settings\n", encoding="utf-8")
    checked = usagebill(aws, "validate", ws)
    assert checked.returncode == 0, checked.stderr
    assert f"2 event files in s3://{BUCKET}/settings/" in checked.stdout
    issued = usagebill(aws, "issue", ws, "--from", "2026-10-01", "--to", "2026-11-01", "--out", tmp_path / "issued")
    assert issued.returncode == 0, issued.stderr
    local = usagebill(aws, "run", EXAMPLE, "--from", "2026-10-01", "--to", "2026-11-01", "--no-report",
                      "--out", tmp_path / "local")
    assert local.returncode == 0, local.stderr
    got = pq.read_table(tmp_path / "issued" / "invoices.parquet").select(["invoice_id", "total"]).to_pylist()
    want = pq.read_table(tmp_path / "local" / "invoices.parquet").select(["invoice_id", "total"]).to_pylist()
    assert got == want and len(got) == 4
    again = usagebill(aws, "reconcile", ws, "--from", "2026-10-01", "--to", "2026-11-01", "--out", tmp_path / "rec")
    assert again.returncode == 0, again.stdout + again.stderr  # re-rated from the bucket: nothing differs


def _events_file(rows: int, groups: int) -> bytes:
    """One object of `rows` api_call events of customer acme, one every 3 minutes from 2026-09-01, in
    `groups` row groups (ordered by time, as an event pipeline writes them)."""
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    t = pa.table({"event_id": [f"e{i}" for i in range(rows)], "customer_id": ["acme"] * rows,
                  "event_type": ["api_call"] * rows,
                  "request": [hashlib.sha1(str(i).encode()).hexdigest() for i in range(rows)],  # a payload
                  "timestamp": pa.array([start + dt.timedelta(minutes=3 * i) for i in range(rows)],
                                        pa.timestamp("us", "UTC"))})
    buf = io.BytesIO()
    pq.write_table(t, buf, row_group_size=rows // groups)
    return buf.getvalue()


def test_footer_statistics_prune_row_groups_in_object_storage(s3, aws, tmp_path, monkeypatch):
    """A month of events in a year-long object: DuckDB reads its footer, then only the row groups whose
    statistics can hold the run's span (and the dedup lookback), not the whole object."""
    import s3fs.core

    from pipeline.billing.run import bill
    from pipeline.billing.types import RunArgs

    rows = 175_200  # 365 days x 480 (one every 3 minutes)
    data = _events_file(rows, 73)  # row groups of 5 days
    s3.client().put_object(Bucket=BUCKET, Key="pruning/year.parquet", Body=data)
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLE, ws)
    shutil.rmtree(ws / "events")
    fetched = []
    real = s3fs.core.S3File._fetch_range

    def counting(self, start, end):
        fetched.append(end - start)
        return real(self, start, end)

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting)
    result = bill(ws, RunArgs(dt.date(2026, 10, 1), dt.date(2026, 11, 1), events=f"s3://{BUCKET}/pruning/"))
    # acme-1 is monthly in America/Chicago: its October runs from 2026-10-01T05:00Z to 2026-11-01T05:00Z (CDT,
    # UTC-5, at both ends: DST ends on Nov 1 at 02:00 local), 31 days of 480 events each
    acme = next(r for r in result.usage.to_pylist() if r["contract_id"] == "acme-1" and r["charge_id"] == "api")
    assert acme["events"] == 31 * 480
    # the run reads from Aug 27 (its span minus the 34 days of dedup lookback) to Nov 1: the row groups of about
    # 65 of the 365 days the object holds, plus the footer
    assert sum(fetched) < len(data) / 3, (sum(fetched), len(data))


def test_errors_name_the_bucket_or_the_object_in_one_line(s3, aws, tmp_path):
    s3.upload_folder(EXAMPLE / "events", BUCKET, "errors/")
    missing = usagebill(aws, "validate", EXAMPLE, "--events", "s3://no-such-bucket-here/events/")
    assert missing.returncode == 1
    assert error_lines(missing) == [
        f"error: s3://no-such-bucket-here/events/: bucket not found (endpoint {s3.endpoint}, region eu-west-1); "
        "check the bucket name in --events or settings.yaml `events:`, and AWS_ENDPOINT_URL"]
    empty = usagebill(aws, "run", EXAMPLE, "--from", "2026-10-01", "--to", "2026-11-01",
                      "--events", f"s3://{BUCKET}/no-such-prefix/", "--out", tmp_path / "empty")
    assert empty.returncode == 1 and len(error_lines(empty)) == 1
    assert f"s3://{BUCKET}/no-such-prefix/: no objects under this prefix" in empty.stderr
    assert not (tmp_path / "empty").exists()

    s3.client().put_object(Bucket=BUCKET, Key="errors/part=2/broken.parquet", Body=b"PAR1 not really parquet")
    corrupt = usagebill(aws, "run", EXAMPLE, "--from", "2026-10-01", "--to", "2026-11-01",
                        "--events", f"s3://{BUCKET}/errors/", "--out", tmp_path / "corrupt")
    assert corrupt.returncode == 1
    lines = error_lines(corrupt)
    assert len(lines) == 1 and lines[0].startswith(
        f"error: s3://{BUCKET}/errors/part=2/broken.parquet: cannot be read as Parquet (")
    assert lines[0].endswith("; replace or remove the object")
    assert not (tmp_path / "corrupt").exists()

    s3.client().delete_object(Bucket=BUCKET, Key="errors/part=2/broken.parquet")
    s3.client().put_object(Bucket=BUCKET, Key="errors/part=2/export.csv", Body=b"a,b\n")
    stray = usagebill(aws, "validate", EXAMPLE, "--events", f"s3://{BUCKET}/errors/")
    assert stray.returncode == 1
    assert error_lines(stray)[0].startswith(f"error: s3://{BUCKET}/errors/part=2/export.csv: not a Parquet file")

    for p in (missing, empty, corrupt, stray):
        assert SECRET_KEY not in p.stdout + p.stderr


def test_a_wrong_credential_is_one_line_and_never_shows_the_secret(s3, aws, tmp_path):
    s3.upload_folder(EXAMPLE / "events", BUCKET, "auth/")
    s3.require_signatures(True)  # from now on moto checks keys and signatures: ours is no IAM user's
    try:
        wrong = usagebill({**aws, "AWS_SECRET_ACCESS_KEY": SECRET_KEY + "-wrong"}, "validate", EXAMPLE,
                          "--events", f"s3://{BUCKET}/auth/")
    finally:
        s3.require_signatures(False)
    assert wrong.returncode == 1
    lines = error_lines(wrong)
    assert len(lines) == 1, wrong.stderr
    assert lines[0].startswith(f"error: s3://{BUCKET}/auth/: access denied (InvalidAccessKeyId; endpoint {s3.endpoint}")
    assert "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)" in lines[0]
    assert SECRET_KEY not in wrong.stdout + wrong.stderr


def test_an_unreachable_endpoint_and_other_schemes_are_one_line(aws, tmp_path):
    from loopback import free_port

    port = free_port()  # nothing listens there
    down = usagebill({**aws, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"},
                     "validate", EXAMPLE, "--events", f"s3://{BUCKET}/x/")
    assert down.returncode == 1 and len(error_lines(down)) == 1
    assert f"s3://{BUCKET}/x/: cannot reach the object store (endpoint http://127.0.0.1:{port}" in down.stderr
    other = usagebill(aws, "validate", EXAMPLE, "--events", "gs://bucket/events/")
    assert other.returncode == 1
    assert "only s3:// URIs" in error_lines(other)[0]


@pytest.mark.slow
def test_the_dask_engine_reads_the_bucket_too(s3, aws, tmp_path):
    s3.upload_folder(EXAMPLE / "events", BUCKET, "dask/")
    window = ("--from", "2026-10-01", "--to", "2026-11-01", "--no-report")
    local = usagebill(aws, "run", EXAMPLE, *window, "--out", tmp_path / "local")
    dask = usagebill(aws, "run", EXAMPLE, *window, "--events", f"s3://{BUCKET}/dask/", "--engine", "dask",
                     "--workers", "2", "--shards", "3", "--out", tmp_path / "dask")
    assert local.returncode == 0, local.stderr
    assert dask.returncode == 0, dask.stderr
    for name in DATA_FILES:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
