"""The command line: broken workspaces give one clear line, exit 1 and no output; good ones run."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS

CLI = [str(Path(sys.executable).with_name("usagebill"))]
EXAMPLE = SCENARIOS / "example" / "ws"


def usagebill(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=300)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(EXAMPLE, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def corrupt_parquet(ws: Path) -> None:
    path = ws / "events" / "part=1" / "events.parquet"
    path.write_bytes(path.read_bytes()[:200])


def drop_column(ws: Path) -> None:
    import pyarrow.parquet as pq

    path = ws / "events" / "part=1" / "events.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["event_type"]), path)


BROKEN = {
    "unknown metric": (lambda ws: edit(ws / "pricebook.yaml", "metric: api_calls", "metric: api_callz"),
                       ["pricebook.yaml", "api_callz"]),
    "unknown plan": (lambda ws: edit(ws / "contracts.csv", "acme-1,acme,growth_usd", "acme-1,acme,growth_eur"),
                     ["contracts.csv line 2", "growth_eur"]),
    "corrupt parquet": (corrupt_parquet, ["events/part=1/events.parquet", "Parquet"]),
    "missing column": (drop_column, ["events/part=1/events.parquet", "event_type"]),
    "overlapping contracts": (lambda ws: (ws / "contracts.csv").write_text(
        (ws / "contracts.csv").read_text() + "acme-2,acme,growth_usd,2026-10-15,,,,\n"),
        ["acme-1", "acme-2", "overlap"]),
    "bad tiers": (lambda ws: edit(ws / "pricebook.yaml", "up_to: 100000", "up_to: 500"),
                  ["pricebook.yaml", "tiers[1]", "strictly increasing"]),
    "bad timezone": (lambda ws: edit(ws / "customers.csv", "America/Chicago", "America/Chicagoo"),
                     ["customers.csv line 2", "America/Chicagoo"]),
    "yaml object tag": (lambda ws: edit(ws / "pricebook.yaml", "name: Heldout Cloud GmbH",
                                        "name: !!python/object/apply:os.system ['echo pwned']"),
                        ["pricebook.yaml line", "python/object"]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_workspace_gives_one_clear_line_and_no_output(ws, tmp_path, name):
    breaker, words = BROKEN[name]
    breaker(ws)
    out = tmp_path / "out"
    p = usagebill("run", str(ws), "--from", "2026-10-01", "--to", "2026-11-01", "--out", str(out))
    assert p.returncode == 1, p.stderr
    lines = [x for x in p.stderr.splitlines() if not x.startswith("usagebill: [")]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in p.stderr
    assert not out.exists()
    assert not (ws / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_validate_reports_all_problems_at_once(ws):
    edit(ws / "customers.csv", "America/Chicago", "Mars/Olympus")
    edit(ws / "pricebook.yaml", "currency: USD", "currency: XYZ")
    p = usagebill("validate", str(ws))
    assert p.returncode == 1
    assert "2 configuration problems" in p.stderr
    assert "Mars/Olympus" in p.stderr and "XYZ" in p.stderr


def test_debug_shows_the_traceback(ws):
    edit(ws / "pricebook.yaml", "currency: USD", "currency: XYZ")
    p = usagebill("--debug", "validate", str(ws))
    assert p.returncode == 1 and "Traceback" in p.stderr


def test_run_writes_every_output_and_a_manifest(ws, tmp_path):
    out = tmp_path / "out"
    p = usagebill("run", str(ws), "--from", "2026-10-01", "--to", "2026-11-01", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in out.iterdir()) == sorted(
        ["invoices.parquet", "invoices.csv", "invoice_lines.parquet", "invoice_lines.csv", "usage.parquet",
         "quarantine.parquet", "manifest.json", "daily_usage.parquet", "report.html"])
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["read"] == sum(v for k, v in counts.items() if k != "read") == 5437
    assert manifest["totals"]["USD"] == {"invoices": 4, "subtotal": "423.17", "discount_total": "6.65",
                                         "tax_total": "38.30", "total": "454.82"}
    assert set(manifest["inputs"]) >= {"pricebook.yaml", "customers.csv", "events/part=0/events.parquet"}
    assert "USD:" in p.stdout and str(out) in p.stdout


def test_default_output_folder_is_named_by_run_id(ws):
    p = usagebill("run", str(ws), "--from", "2026-10-01", "--to", "2026-11-01")
    assert p.returncode == 0, p.stderr
    (run_dir,) = (ws / "out").iterdir()
    assert json.loads((run_dir / "manifest.json").read_text())["run_id"] == run_dir.name


def test_help_explains_options():
    p = usagebill("run", "--help")
    assert p.returncode == 0
    for option in ("--from", "--to", "--contract", "--customer", "--out", "--dedup-window-days"):
        assert option in p.stdout


def test_help_is_a_tour_every_command_grouped_with_an_example():
    from pipeline.cli import cli
    from pipeline.cli.help import GROUPS

    p = usagebill("--help")
    assert p.returncode == 0, p.stderr
    titles = [t for t, _ in GROUPS]
    assert "More:" not in p.stdout  # no command left ungrouped
    assert [line[:-1] for line in p.stdout.splitlines() if line[:-1] in titles] == titles
    grouped = [n for _, names in GROUPS for n in names]
    assert sorted(grouped) == sorted(cli.commands), "a command is missing from the tour, or the tour names a ghost"
    lines = p.stdout.splitlines()
    for name in grouped:
        at = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
        assert lines[at + 1].strip().startswith(f"$ usagebill {name} "), (name, lines[at:at + 2])
