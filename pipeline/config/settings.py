"""settings.yaml, optional: workspace-wide options that change no price.

    billed_through: 2026-09-30      # migration: periods whose last day is on or before it were billed by
                                    # the previous system (nightly never issues them, reconcile skips them);
                                    # a contract's own billed_through column wins over it
    pdf:
      hide_zero_usage_lines: true   # leave usage lines of amount 0 off the PDF (default false)
    events: s3://acme-events/usage/ # where the events are (default: the events/ folder); an s3:// prefix
                                    # (pipeline/core/storage.py) or a folder, relative to the workspace;
                                    # `--events` on the command line wins over it

The ledger, the exports and the UBL file keep every line; only the PDF hides them, and its
totals are the same.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ProblemList
from ..core.fields import Fields
from .changes import parse_date
from .yamlsafe import load_yaml

FILE_NAME = "settings.yaml"


@dataclass(frozen=True)
class Settings:
    billed_through: dt.date | None = None
    hide_zero_usage_lines: bool = False
    events: str | None = None  # events location: an s3:// URI or a folder (docs/object-storage.md)


def load_settings(root: Path, problems: ProblemList) -> Settings:
    path = root / FILE_NAME
    raw = load_yaml(path) if path.exists() else None
    if raw is None:
        return Settings()
    if not isinstance(raw, dict):
        problems.add(FILE_NAME, "must be a mapping of options", "write `billed_through: 2026-09-30` or `pdf: {...}`")
        return Settings()
    f = Fields(raw, FILE_NAME, problems)
    f.unknown_keys({"billed_through", "pdf", "events"})
    through = None
    if raw.get("billed_through") is not None:
        through = parse_date(raw["billed_through"])
        if through is None:
            problems.add(FILE_NAME, f"billed_through {raw['billed_through']!r} is not a date", "write YYYY-MM-DD")
    pdf = raw.get("pdf") or {}
    if not isinstance(pdf, dict):
        problems.add(f"{FILE_NAME}: pdf", "must be a mapping", "write `pdf: {hide_zero_usage_lines: true}`")
        pdf = {}
    p = Fields(pdf, f"{FILE_NAME}: pdf", problems)
    p.unknown_keys({"hide_zero_usage_lines"})
    events = raw.get("events")
    if events is not None and (not isinstance(events, str) or not events.strip()):
        problems.add(f"{FILE_NAME}: events", f"{events!r} is not a location",
                     "write an s3:// URI (`events: s3://bucket/prefix/`) or a folder")
        events = None
    return Settings(through, p.boolean("hide_zero_usage_lines", False), events)
