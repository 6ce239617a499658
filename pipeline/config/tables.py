"""customers, contracts and tax_rates: one row per entity, from CSV or Parquet.

Rows are read as text (CSV) or converted to text (Parquet) and parsed with the
same rules, so both formats behave alike. Every problem names the file and row.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pycountry

from ..core.errors import ConfigError, ProblemList
from ..core.fields import MAX_INTEGER_DIGITS, parse_decimal
from .textfile import read_utf8

BILLING_PERIODS = ("daily", "weekly", "monthly", "quarterly", "annual")
# The billing calendar: every date a run computes (periods, local midnights, the dedup look-back)
# stays inside Python's years 1..9999 when the dates it starts from lie in these bounds.
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(9000, 12, 31)
OPEN_END = dt.date(9999, 12, 31)  # an end_date this late is accepted: it is the usual "no end" marker


def bad_id_char(text: str) -> str | None:
    """The first character an id must not hold (a control character or line break), or None."""
    if text.isprintable():  # no Cc, Zl or Zp character is printable: the usual id needs no scan
        return None
    return next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)

T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    where: str  # "customers.csv line 4"
    cells: dict[str, str | None]


class Rows(Sequence[Row]):
    """A table's cells (text, stripped, None when empty), held by column: read row by row (`Row`s,
    made when asked, for the messages) or column by column (`column`, the fast path of many rows)."""

    def __init__(self, header: list[str], columns: dict[str, list[str | None]], prefix: str,
                 places: Sequence[int] | Callable[[], Sequence[int]]):
        # row i is at "<prefix> <places[i]>" ("customers.csv line 4"), worded only when a message needs it;
        # `places` may be a function that finds them then (a CSV read by Arrow counts no lines)
        self.header, self.columns, self.prefix, self._places = header, columns, prefix, places
        self._count = len(next(iter(columns.values()), []))  # every column holds every row

    @property
    def places(self) -> Sequence[int]:
        if callable(self._places):
            self._places = self._places()
        return self._places

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i):  # a Row, or a list of them for a slice
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return Row(self.where(i), {h: self.columns[h][i] for h in self.header})

    def column(self, key: str) -> list[str | None]:
        """The column's cells in row order (all None when the header has no such column)."""
        found = self.columns.get(key)
        return found if found is not None else [None] * len(self)

    def where(self, i: int) -> str:
        return f"{self.prefix} {self.places[i]}"


def _folded(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in "_- ")


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def resembled(column: str, known: tuple[str, ...]) -> str | None:
    """The known column an unknown header cell looks like a misspelling of: equal ignoring case, `_`,
    `-` and spaces, or at most 2 edits away when both names have 5 or more characters."""
    if column in known:
        return None
    for k in known:
        if _folded(column) == _folded(k):
            return k
    close = [k for k in known if len(k) >= 5 and len(column) >= 5 and _edits(column.lower(), k) <= 2]
    return min(close, key=lambda k: (_edits(column.lower(), k), k)) if close else None


def _check_spelling(name: str, header: list[str], known: tuple[str, ...]) -> None:
    problems = [f"{name}: column {h!r} looks like a misspelling of {k!r} (an unknown column is ignored, so its "
                f"values would be billed with the default); rename it to {k}, or give it a name unlike any "
                f"column of {name.rsplit('.', 1)[0]} (see docs/input-rules.md)"
                for h in header if h and (k := resembled(h, known)) is not None]
    if problems:
        raise ConfigError(problems)


def read_table(workspace: Path, stem: str, required: tuple[str, ...], known: tuple[str, ...] = ()) -> Rows:
    """Rows of WORKSPACE/stem.csv or stem.parquet; missing file or columns is a ConfigError, and so
    is a header cell that looks like a misspelling of a `known` column."""
    csv_path, pq_path = workspace / f"{stem}.csv", workspace / f"{stem}.parquet"
    if csv_path.exists() and pq_path.exists():
        raise ConfigError([f"{stem}: both {csv_path.name} and {pq_path.name} exist; keep one of them"])
    if csv_path.exists():
        header, rows = _read_csv(csv_path)
    elif pq_path.exists():
        header, rows = _read_parquet(pq_path)
    else:
        raise ConfigError([f"{stem}.csv: not found in {workspace}; create it (or {stem}.parquet)"])
    _check_spelling(csv_path.name if csv_path.exists() else pq_path.name, header, tuple(known) or required)
    missing = [c for c in required if c not in header]
    if missing:
        name = csv_path.name if csv_path.exists() else pq_path.name
        raise ConfigError([f"{name}: required column(s) {', '.join(missing)} missing; "
                           f"the header has {', '.join(header) or '(nothing)'}"])
    return rows


def _read_csv(path: Path) -> tuple[list[str], Rows]:
    text = read_utf8(path)
    fast = _read_csv_by_arrow(path, text)
    return fast if fast is not None else _read_csv_by_lines(path, text)


def _read_csv_by_lines(path: Path, text: str) -> tuple[list[str], Rows]:
    """The csv module's reading, line by line: the rule (`_read_csv_by_arrow` gives the same cells
    faster when it can), and the line of every row and of every malformed one."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = [h.strip() for h in next(reader, [])]
        _check_header(path.name, header)
        width = len(header)
        values_by_row, places = [], []
        for values in reader:
            # a row of blank cells is no row (the usual row's first cell, its id, is not blank)
            if not (values and values[0].strip()) and not "".join(values).strip():
                continue
            if len(values) != width:
                if len(values) > width:
                    raise ConfigError([f"{path.name} line {reader.line_num}: {len(values)} cells but the header "
                                       f"has {len(header)}; quote cells that contain commas"])
                values += [""] * (width - len(values))  # the missing cells are empty
            values_by_row.append(values)
            places.append(reader.line_num)
    except csv.Error as exc:
        raise ConfigError([f"{path.name} line {reader.line_num}: malformed CSV ({exc}); check quoting"]) from None
    columns = zip(*values_by_row) if values_by_row else ([] for _ in header)
    return header, Rows(header, {h: [v.strip() or None for v in col] for h, col in zip(header, columns)},
                        f"{path.name} line", places)


_QUOTED = re.compile(r'"[^"]*"(?:"[^"]*")*')  # a quoted cell: quotes, with "" for a quote inside
# each quoted cell is looked at by Python (0.5 us): a text quoting more than two cells a line on average
# (every cell, as some spreadsheets write) is left to the csv module (2 to 7 us a line), which is then
# no slower than checking it
_QUOTES_PER_LINE = 4
# what str.strip() removes (every character whose str.isspace() is true, a test holds), trimmed by Arrow
# with these characters named rather than by its own whitespace class, which may follow another Unicode
_SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
           "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _plain_quoting(text: str) -> bool:
    """Every quote of the text belongs to a well-formed quoted cell (one that starts and ends at a cell's
    bounds), there are not too many of them, lines end in \n or \r\n and there is no NUL: the text where
    Arrow's CSV reader and the csv module read the same cells. Malformed text is left to the csv module,
    which names its line."""
    if "\0" in text or text.count("\r") != text.count("\r\n"):
        return False
    if text.count('"') > _QUOTES_PER_LINE * (text.count("\n") + 1):
        return False
    end = 0
    for m in _QUOTED.finditer(text):
        start, end = m.span()
        if (start and text[start - 1] not in ",\n") or (end < len(text) and text[end] not in ",\r\n"):
            return False
    return text.find('"', end) == -1


def _read_csv_by_arrow(path: Path, text: str) -> tuple[list[str], Rows] | None:
    """The cells `_read_csv_by_lines` reads, by Arrow's CSV reader (columns of text, trimmed, empty as
    None, blank rows dropped), or None when the text is not plainly quoted or Arrow cannot read it
    (a short or long row, say): the csv module then reads it and words the problem."""
    if not _plain_quoting(text):
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not header or len(set(header)) != len(header) or reader.line_num != 1:  # Arrow skips one line
        return None
    names = [f"c{i}" for i in range(len(header))]
    # The bytes go in an Arrow-owned buffer, not pa.py_buffer: the threaded reader can drop its last
    # reference to its input on a worker thread after read_csv returned, and a Python-backed buffer's
    # release then takes the GIL; at interpreter exit that aborted the process ("terminate called
    # without an active exception", about one exit in a hundred on a loaded machine).
    stream = pa.BufferOutputStream()
    stream.write(text.encode())
    try:
        table = pacsv.read_csv(
            stream.getvalue(),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    cells = [pc.utf8_trim(table.column(k), characters=_SPACES) for k in names]
    cells = [pc.if_else(pc.equal(c, ""), pa.scalar(None, pa.string()), c) for c in cells]
    kept = pc.is_valid(cells[0])
    for c in cells[1:]:
        kept = pc.or_(kept, pc.is_valid(c))
    if not pc.all(kept).as_py():
        cells = [c.filter(kept) for c in cells]

    def places() -> Sequence[int]:
        """Each kept row's line: when every row is one line (as many rows as non-empty lines after the
        header: a row over several lines has at least two of them), the lines' own numbers, else the csv
        module's count."""
        lines = [n for n, line in enumerate(text.split("\n")[1:], 2) if line and line != "\r"]
        if len(lines) != table.num_rows:
            return _read_csv_by_lines(path, text)[1].places
        return np.array(lines, np.int64)[kept.to_numpy(zero_copy_only=False)].tolist()

    return header, Rows(header, {h: c.to_pylist() for h, c in zip(header, cells)}, f"{path.name} line", places)


def _check_header(name: str, header: list[str]) -> None:
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise ConfigError([f"{name}: column(s) {', '.join(twice)} appear more than once in the header; "
                           "keep one of each, so no cell is silently ignored"])


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value).strip() or None


def _read_parquet(path: Path) -> tuple[list[str], Rows]:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # any reader failure is the same user problem
        raise ConfigError([f"{path.name}: cannot be read as Parquet ({exc}); re-export the file"]) from None
    header = table.column_names
    _check_header(path.name, header)
    columns = {k: [_text(v) for v in table.column(k).to_pylist()] for k in header}
    return header, Rows(header, columns, f"{path.name} row", range(1, table.num_rows + 1))


@lru_cache(maxsize=1024)
def _is_country(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code (each code looked up once per process)."""
    return pycountry.countries.get(alpha_2=code) is not None


class Cells:
    """Typed access to one row's cells, recording problems with the row's location."""

    def __init__(self, row: Row, problems: ProblemList):
        self.row, self.problems = row, problems

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.row.cells.get(key)
        if value is None and required:
            self.problems.add(self.row.where, f"{key} is empty", f"fill in {key}")
        return value

    def date(self, key: str, required: bool = False, latest: dt.date = LAST_DATE) -> dt.date | None:
        value = self.text(key, required)
        if value is None:
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.problems.add(self.row.where, f"{key} {value!r} is not a date", "write it as YYYY-MM-DD")
            return None
        if not FIRST_DATE <= day <= latest:
            self.problems.add(self.row.where, f"{key} {value} is outside the billing calendar",
                              f"use a date from {FIRST_DATE} to {latest}")
            return None
        return day

    def ident(self, key: str) -> str | None:
        """A required id: one line of printable text (`../`, commas and quotes are allowed: ids are data)."""
        value = self.text(key, required=True)
        if value is not None and (ch := bad_id_char(value)) is not None:
            self.problems.add(self.row.where, f"{key} {value!r} contains the control character {ch!r}",
                              "ids must be one line of printable text; remove line breaks, tabs and the like")
            return None
        return value

    def decimal(self, key: str, default: Decimal | None = None, low: Decimal | None = None,
                high: Decimal | None = None) -> Decimal | None:
        value = self.text(key)
        if value is None:
            return default
        number = parse_decimal(value)
        if number is not None and number.adjusted() >= MAX_INTEGER_DIGITS:
            self.problems.add(self.row.where, f"{key} {value!r} is too large",
                              f"write a number below 10^{MAX_INTEGER_DIGITS}")
            return default
        if number is None or (low is not None and number < low) or (high is not None and number > high):
            bounds = (f" between {low} and {high}" if high is not None
                      else f" of at least {low}" if low is not None else "")
            self.problems.add(self.row.where, f"{key} {value!r} is not a number{bounds}", f"write a number{bounds}")
            return default
        return number

    def integer(self, key: str, default: int | None, low: int, high: int | None = None) -> int | None:
        number = self.decimal(key, None, Decimal(low), Decimal(high) if high is not None else None)
        if number is None:
            return default
        if number != number.to_integral_value():
            self.problems.add(self.row.where, f"{key} {number} is not a whole number")
            return default
        return int(number)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.text(key)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            self.problems.add(self.row.where, f"{key} {value!r} is not a boolean", "write true or false")
            return default
        return value.lower() == "true"

    def country(self, key: str, allow_star: bool = False) -> str:
        value = (self.text(key, required=True) or "").upper()
        if value and not (allow_star and value == "*") and not _is_country(value):
            self.problems.add(self.row.where, f"{key} {value!r} is not an ISO 3166-1 alpha-2 country code",
                              "use a code such as DE, FR or US" + (" (or * for the default)" if allow_star else ""))
        return value


def parsed_once(values: list[str | None], key: str, parse: Callable[[Cells], T]) -> dict[str | None, T] | None:
    """Each distinct cell value of column `key` parsed once, by the same Cells method a row would use
    (`parse(cells)` on a one-cell row); None when some value has a problem, so that the caller reads
    the table row by row and reports every problem where it is."""
    out: dict[str | None, T] = {}
    for value in set(values):
        scratch = ProblemList()
        out[value] = parse(Cells(Row("", {key: value}), scratch))
        if scratch.items:
            return None
    return out
