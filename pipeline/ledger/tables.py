"""Arrow schemas of the ledger's document tables (sql/ledger/schema.sql) and of the files exported from them.

Exported invoices and invoice_lines have the columns of a run's outputs (emit.INVOICE_SCHEMA,
emit.LINE_SCHEMA) in the same order, plus trailing columns that only issued documents have.
"""
from __future__ import annotations

import pyarrow as pa

from ..billing import emit

STR, DATE, SEQ, RUN = pa.string(), pa.date32(), pa.int64(), pa.int32()

LINE_FIELDS = [f for f in emit.LINE_SCHEMA if f.name != "invoice_id"]  # line_number .. service_end
DOCUMENT_FIELDS = [  # the header of a credit note, after its number and what it credits
    ("invoice_id", STR), ("customer_id", STR), ("contract_id", STR), ("plan_id", STR), ("currency", STR),
    ("period_start", DATE), ("period_end", DATE), ("issue_date", DATE), ("subtotal", emit.MONEY),
    ("discount_total", emit.MONEY), ("tax_percent", emit.PERCENT), ("tax_note", STR), ("tax_name", STR),
    ("tax_total", emit.MONEY), ("total", emit.MONEY),
]

# Rows as stored in the ledger.
INVOICES = pa.schema(list(emit.INVOICE_SCHEMA) + [("kind", STR), ("original_invoice_number", STR),
                                                  ("sequence", SEQ), ("run_seq", RUN)])
INVOICE_LINES = pa.schema([("invoice_number", STR)] + LINE_FIELDS)
CREDIT_NOTES = pa.schema([("credit_note_number", STR), ("invoice_number", STR), ("reason", STR)] + DOCUMENT_FIELDS
                         + [("sequence", SEQ), ("run_seq", RUN)])
CREDIT_NOTE_LINES = pa.schema([("credit_note_number", STR)] + LINE_FIELDS)

LINE_TERMS = pa.schema([("invoice_number", STR), ("line_number", pa.int32()), ("terms_source", STR)])

# Rows as exported to files (a batch's output folder, `usagebill export`).
INVOICES_OUT = pa.schema(list(emit.INVOICE_SCHEMA) + [("kind", STR), ("original_invoice_number", STR)])
INVOICE_LINES_OUT = pa.schema(list(emit.LINE_SCHEMA) + [("invoice_number", STR)])
CREDIT_NOTES_OUT = pa.schema([f for f in CREDIT_NOTES if f.name not in ("sequence", "run_seq")])
CREDIT_NOTE_LINES_OUT = CREDIT_NOTE_LINES

STORED = {"invoices": INVOICES, "invoice_lines": INVOICE_LINES, "credit_notes": CREDIT_NOTES,
          "credit_note_lines": CREDIT_NOTE_LINES}
EXPORTED = {"invoices": INVOICES_OUT, "invoice_lines": INVOICE_LINES_OUT, "credit_notes": CREDIT_NOTES_OUT,
            "credit_note_lines": CREDIT_NOTE_LINES_OUT}


def table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows (dicts holding at least the schema's columns) as an Arrow table of exactly that schema."""
    return pa.Table.from_pylist([{f.name: r[f.name] for f in schema} for r in rows], schema=schema)
