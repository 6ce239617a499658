"""import_file: the CSV files the ledger imports (payments, credit grants), read the same way.

Strict UTF-8, a header naming each column once (required ones present, no unknown one), cells
stripped, blank lines skipped, a row with the wrong number of cells a problem of its line. Every
problem names the file, the line and the column; the first one stops the import with the count of
the others, and nothing is imported.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from ..config.textfile import read_utf8
from ..core.errors import BillingError, ConfigError


class Problems:
    """The first problem found, as one line, with the count of the others."""

    def __init__(self, name: str):
        self.name, self.items = name, []

    def add(self, line: int, column: str | None, what: str) -> None:
        self.items.append(f"{self.name} line {line}" + (f", {column}" if column else "") + f": {what}")

    def raise_if_any(self) -> None:
        if self.items:
            more = f" (and {len(self.items) - 1} more problems in this file)" if len(self.items) > 1 else ""
            raise BillingError(self.items[0] + more + "; nothing was imported")


def rows(path: Path, columns: tuple[str, ...], required: tuple[str, ...], optional_hint: str, noun: str,
         problems: Problems) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped cell}) of every non-blank line of the CSV file `path`.

    optional_hint: the optional columns as the header shows them ("[,invoice_number]"); noun: what
    a line holds ("payment"), for the messages."""
    try:
        text = read_utf8(path)
    except ConfigError as exc:
        raise BillingError(f"{exc}; nothing was imported") from None
    name = path.name
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BillingError(f"{name}: not a CSV file ({exc}); nothing was imported") from None
    if not table:
        raise BillingError(f"{name}: empty; write a header `{','.join(columns)}` and one line per {noun}")
    header = [h.strip() for h in table[0]]
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in columns]
    twice = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or twice:
        what = "; ".join(x for x in (missing and f"missing column(s) {', '.join(missing)}",
                                     unknown and f"unknown column(s) {', '.join(unknown)}",
                                     twice and f"column(s) {', '.join(twice)} twice") if x)
        raise BillingError(f"{name} line 1: {what}; the header is {','.join(required)}{optional_hint}; "
                           "nothing was imported")
    for n, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.add(n, None, f"{len(cells)} cells for {len(header)} columns; quote cells that hold a comma")
            continue
        yield n, {h: c.strip() for h, c in zip(header, cells)}
