"""An export file: its name, documented header, which columns are numbers, and its rows."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from ...billing.emit import neutralize


@dataclass
class ExportFile:
    name: str
    header: tuple[str, ...]
    numeric: frozenset[str]  # numbers and dates: written as they are (a '-' is a minus sign, never a formula)
    rows: list[dict[str, str]] = field(default_factory=list)
    documents: int = 0
    newline: str = "\r\n"  # RFC 4180, what spreadsheet-born importers expect

    def text(self) -> str:
        """CSV text: header, then rows; every text cell a spreadsheet would run as a formula gets a leading '."""
        buf, row = io.StringIO(), io.StringIO()
        # written with CRLF rows so that the csv module quotes any cell holding a CR or LF (with "\n" rows it
        # leaves a bare CR unquoted, and a reader splits the row there); then each row ends in self.newline
        w = csv.writer(row, lineterminator="\r\n")
        for cells in [list(self.header)] + [[r.get(c, "") if c in self.numeric else neutralize(r.get(c, ""))
                                             for c in self.header] for r in self.rows]:
            row.seek(0)
            row.truncate()
            w.writerow(cells)
            buf.write(row.getvalue()[:-2] + self.newline)
        return buf.getvalue()


def chunked(name: str, header: tuple[str, ...], numeric: frozenset[str], per_document: list[list[dict[str, str]]],
            limit: int | None) -> list[ExportFile]:
    """Documents' rows in files of at most `limit` documents (a document's lines never split): NAME-1.csv, ..."""
    if not limit:
        f = ExportFile(f"{name}.csv", header, numeric, [r for rows in per_document for r in rows], len(per_document))
        return [f]
    files = []
    for start in range(0, max(len(per_document), 1), limit):
        part = per_document[start:start + limit]
        files.append(ExportFile(f"{name}-{len(files) + 1}.csv", header, numeric, [r for rows in part for r in rows],
                                len(part)))
    return files
