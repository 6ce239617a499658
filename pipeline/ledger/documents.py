"""Documents of one batch: invoices, adjustment invoices and credit notes, numbered as they are made.

The caller makes documents in the batch's deterministic order (period_end, then contract_id);
each takes the next number of its series, so numbers are strictly increasing and gapless:

- invoice and adjustment invoices: `{invoice_prefix}-{n}`;
- credit notes: `{invoice_prefix}-CN-{n}`.

Invoices come from a run's rows (emit.INVOICE_SCHEMA, emit.LINE_SCHEMA). A cancellation credits
everything a period has been billed (its net) and marks its open invoice documents `credited`.
An adjustment bills the difference between a re-rating and the net, line by line.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from .chains import HEADER_MONEY, ZERO, Chain, LineKey, NetLine
from .tables import INVOICE_LINES, INVOICES, STORED, table

SERIES = ("invoice", "credit_note")
COPIED = ("invoice_id", "customer_id", "contract_id", "plan_id", "currency", "period_start", "period_end",
          "tax_percent", "tax_note", "tax_name")


@dataclass
class Numbering:
    prefix: str
    last: dict[str, int]  # series -> last number used

    def next(self, series: str) -> tuple[str, int]:
        return self.take(series, 1)[0]

    def take(self, series: str, count: int) -> list[tuple[str, int]]:
        """The next `count` (number, sequence) of a series, in order."""
        first = self.last[series] + 1
        self.last[series] += count
        form = f"{self.prefix}-{{}}" if series == "invoice" else f"{self.prefix}-CN-{{}}"
        return [(form.format(n), n) for n in range(first, first + count)]


def net_lines(lines: list[dict]) -> dict[LineKey, NetLine]:
    """A run's lines of one invoice, keyed like a chain's net lines."""
    out = {}
    for r in lines:
        line = NetLine(r["line_type"], r["charge_id"], r["metric_id"], r["group_key"], r["description"],
                       r["unit_price"], r["quantity"], r["amount"])
        out[line.key] = line
    return out


def line_differences(issued: dict[LineKey, NetLine],
                     recomputed: dict[LineKey, NetLine]) -> list[tuple[NetLine | None, NetLine | None]]:
    """(issued, recomputed) pairs whose quantity or amount differ: recomputed order, then lines gone since."""
    keys = list(recomputed) + [k for k in issued if k not in recomputed]
    out = []
    for k in keys:
        i, r = issued.get(k), recomputed.get(k)
        if (i.quantity if i else ZERO) != (r.quantity if r else ZERO) or \
                (i.amount if i else ZERO) != (r.amount if r else ZERO):
            out.append((i, r))
    return out


@dataclass
class Batch:
    """Documents made by one command, in the order they were numbered; written by store.commit."""

    run_seq: int
    issue_date: dt.date  # the date of credit notes, adjustment invoices and replacement invoices
    numbering: Numbering
    invoices: list[dict] = field(default_factory=list)
    invoice_lines: list[dict] = field(default_factory=list)
    credit_notes: list[dict] = field(default_factory=list)
    credit_note_lines: list[dict] = field(default_factory=list)
    credited: list[str] = field(default_factory=list)  # invoice numbers whose status becomes `credited`
    run_invoices: pa.Table | None = None  # a run's invoices and lines that `issue_row` issues from
    run_lines: pa.Table | None = None
    from_run: list[tuple[int, str, int, str | None, dt.date | None]] = field(default_factory=list)
    # (row, number, seq, original, issue_date of a replacement)

    @property
    def empty(self) -> bool:
        return not (self.invoices or self.credit_notes or self.from_run)

    def tables(self) -> dict[str, pa.Table]:
        """The batch's documents as Arrow tables of the ledger's schemas (stored.* columns)."""
        out = {name: table(getattr(self, name), schema) for name, schema in STORED.items()}
        if self.from_run:
            invoices, lines = self._issued_from_run()
            out["invoices"] = pa.concat_tables([out["invoices"], invoices])
            out["invoice_lines"] = pa.concat_tables([out["invoice_lines"], lines])
        return out

    def dated(self, *corrected: dt.date) -> dt.date:
        """The date of a document issued by this batch that corrects or replaces documents dated
        `corrected`: the batch's issue date, never before what it corrects (docs/month-end-exports.md)."""
        return max(self.issue_date, *corrected)

    def issue(self, header: dict, lines: list[dict], original: dict | None = None) -> str:
        """Issue a run's invoice (header and lines as dicts of the run's tables) under the next number.

        A replacement of the live invoice `original` (its ledger header) is a new document dated
        when it is issued (`dated`), its due date following by the customer's payment terms."""
        number, seq = self.numbering.next("invoice")
        dates = {}
        if original is not None:
            date = self.dated(original["issue_date"])
            dates = {"issue_date": date, "due_date": date + (header["due_date"] - header["issue_date"])}
        self.invoices.append({**header, **dates, "invoice_number": number, "status": "issued", "kind": "invoice",
                              "original_invoice_number": original and original["invoice_number"],
                              "sequence": seq, "run_seq": self.run_seq})
        self.invoice_lines += [{**line, "invoice_number": number} for line in lines]
        return number

    def issue_row(self, invoices: pa.Table, lines: pa.Table, row: int, original: dict | None = None) -> str:
        """Issue row `row` of a run's invoices table (its lines in `lines`) under the next number.

        The same as `issue`, column-wise: many invoices cost no Python objects per line.
        """
        assert self.run_invoices is None or self.run_invoices is invoices
        self.run_invoices, self.run_lines = invoices, lines
        number, seq = self.numbering.next("invoice")
        self.from_run.append((row, number, seq, original and original["invoice_number"],
                              original and self.dated(original["issue_date"])))
        return number

    def issue_rows(self, invoices: pa.Table, lines: pa.Table, rows: list[int]) -> None:
        """`issue_row` for each of `rows`, in order (new invoices, no replacement), numbered at once."""
        assert self.run_invoices is None or self.run_invoices is invoices
        self.run_invoices, self.run_lines = invoices, lines
        numbers = self.numbering.take("invoice", len(rows))
        self.from_run += [(row, number, seq, None, None) for row, (number, seq) in zip(rows, numbers)]

    def _issued_from_run(self) -> tuple[pa.Table, pa.Table]:
        rows, numbers, seqs, originals, dates = (list(c) for c in zip(*self.from_run))
        n = len(rows)
        picked = self.run_invoices.take(pa.array(rows, pa.int64()))
        extra = {"invoice_number": pa.array(numbers, pa.string()), "status": pa.array(["issued"] * n, pa.string()),
                 "kind": pa.array(["invoice"] * n, pa.string()),
                 "original_invoice_number": pa.array(originals, pa.string()),
                 "sequence": pa.array(seqs, pa.int64()), "run_seq": pa.array([self.run_seq] * n, pa.int32())}
        if any(d is not None for d in dates):  # replacements: dated when issued, due by the same terms
            issued, due = picked.column("issue_date").to_pylist(), picked.column("due_date").to_pylist()
            extra["issue_date"] = pa.array([d or i for d, i in zip(dates, issued)], pa.date32())
            extra["due_date"] = pa.array([(d + (u - i)) if d else u for d, i, u in zip(dates, issued, due)],
                                         pa.date32())
        invoices = pa.table({f.name: extra[f.name] if f.name in extra else picked.column(f.name) for f in INVOICES},
                            schema=INVOICES)
        position = pc.index_in(self.run_lines.column("invoice_id"), value_set=picked.column("invoice_id"))
        kept = self.run_lines if position.null_count == 0 else self.run_lines.filter(pc.is_valid(position))
        number_of_line = pa.array(numbers, pa.string()).take(pc.drop_null(position))
        lines = pa.table({f.name: number_of_line if f.name == "invoice_number" else kept.column(f.name)
                          for f in INVOICE_LINES}, schema=INVOICE_LINES)
        return invoices, lines

    def cancel(self, chain: Chain, reason: str) -> str:
        """A credit note for everything the period has been billed; its open invoice documents become credited."""
        live = chain.live
        assert live is not None, chain.key
        lines = chain.net_lines()
        number = self._credit_note(live, reason, chain.net, [(x, x.quantity, x.amount) for x in lines])
        self.credited += chain.open_numbers
        return number

    def adjust(self, chain: Chain, header: dict, lines: list[dict]) -> str:
        """Bill the difference between a re-rated invoice (run rows) and the period's net, line by line.

        A positive or zero total difference is an adjustment invoice, a negative one a credit note
        (reason `adjustment`); either references the live invoice, which stays `issued`.
        """
        live = chain.live
        assert live is not None, chain.key
        delta = {m: header[m] - chain.net[m] for m in HEADER_MONEY}
        changes = [((r or i), (r.quantity if r else ZERO) - (i.quantity if i else ZERO),
                    (r.amount if r else ZERO) - (i.amount if i else ZERO))
                   for i, r in line_differences(chain.lines, net_lines(lines))]
        if delta["total"] < 0:
            negated = {m: -v for m, v in delta.items()}
            return self._credit_note(header, "adjustment", negated, [(x, -q, -a) for x, q, a in changes],
                                     live["invoice_number"])
        number, seq = self.numbering.next("invoice")
        date = self.dated(live["issue_date"])
        self.invoices.append({**header, **delta, "invoice_number": number, "status": "issued", "kind": "adjustment",
                              "original_invoice_number": live["invoice_number"], "issue_date": date,
                              "due_date": date + (header["due_date"] - header["issue_date"]),
                              "sequence": seq, "run_seq": self.run_seq})
        self.invoice_lines += self._lines("invoice_number", number, header, changes, live["invoice_number"])
        return number

    def _credit_note(self, source: dict, reason: str, money: dict[str, Decimal],
                     changes: list[tuple[NetLine, Decimal, Decimal]], credits: str | None = None) -> str:
        credits = credits or source["invoice_number"]
        number, seq = self.numbering.next("credit_note")
        self.credit_notes.append({**{k: source[k] for k in COPIED}, **money, "credit_note_number": number,
                                  "invoice_number": credits, "reason": reason,
                                  "issue_date": self.dated(source["issue_date"]),
                                  "sequence": seq, "run_seq": self.run_seq})
        self.credit_note_lines += self._lines("credit_note_number", number, source, changes,
                                              credits if reason == "adjustment" else None)
        return number

    @staticmethod
    def _lines(number_column: str, number: str, source: dict, changes: list[tuple[NetLine, Decimal, Decimal]],
               corrects: str | None) -> list[dict]:
        return [{number_column: number, "line_number": n, "line_type": x.line_type, "charge_id": x.charge_id,
                 "metric_id": x.metric_id, "group_key": x.group_key,
                 "description": f"Correction of {corrects}: {x.description}" if corrects else x.description,
                 "quantity": q, "unit_price": x.unit_price, "amount": a, "currency": source["currency"],
                 "service_start": source["period_start"], "service_end": source["period_end"]}
                for n, (x, q, a) in enumerate(changes, start=1)]
