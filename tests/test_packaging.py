"""The built wheel ships what the package reads at run time: the queries and the report template."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline.core import db

ROOT = Path(__file__).resolve().parent.parent


def _queries() -> set[str]:
    return {p.relative_to(ROOT / "sql").as_posix() for p in (ROOT / "sql").rglob("*.sql")}


def test_the_package_reads_the_top_level_queries():
    assert {p.relative_to(db.SQL_DIR).as_posix() for p in db.SQL_DIR.rglob("*.sql")} == _queries()
    assert db._template("daily_usage").strip()


@pytest.mark.slow
def test_the_wheel_holds_the_queries_templates_and_schemas(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, cwd=tmp_path, capture_output=True)
    (wheel,) = tmp_path.glob("usagebill-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"pipeline/sql/{q}" for q in _queries()} <= names
    assert "pipeline/billing/report/report.html.j2" in names
    assert "schemas/__init__.py" in names and "pipeline/cli/__init__.py" in names
