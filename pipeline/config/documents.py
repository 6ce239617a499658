"""documents.yaml, optional: how invoices look as PDF (never what they bill).

    hide_zero_usage_lines: true   # leave usage lines of amount 0 off the PDF (default false)

The ledger, the exports and the UBL file keep every line; only the PDF hides them, and its
totals are the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ProblemList
from .fields import Fields
from .yamlsafe import load_yaml

FILE_NAME = "documents.yaml"


@dataclass(frozen=True)
class DocumentOptions:
    hide_zero_usage_lines: bool = False


def load_document_options(root: Path, problems: ProblemList) -> DocumentOptions:
    path = root / FILE_NAME
    if not path.exists():
        return DocumentOptions()
    raw = load_yaml(path)
    if raw is None:
        return DocumentOptions()
    if not isinstance(raw, dict):
        problems.add(FILE_NAME, "must be a mapping of options", "write `hide_zero_usage_lines: true`")
        return DocumentOptions()
    f = Fields(raw, FILE_NAME, problems)
    f.unknown_keys({"hide_zero_usage_lines"})
    return DocumentOptions(hide_zero_usage_lines=f.boolean("hide_zero_usage_lines", False))
