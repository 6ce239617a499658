-- Payments and their allocations (usagebill payments import; docs/month-end.md).
-- Not part of schema version 1's documents: `payments import` creates these tables in its own transaction the
-- first time it writes a ledger (CREATE ... IF NOT EXISTS, so ledgers made before them keep working); readers of
-- a ledger without them create empty TEMP tables of the same shape ({{temp}} is TEMP or empty).
-- Money is DECIMAL(38, 4) holding values rounded to the currency's minor unit, as everywhere in the ledger.

-- One row per payment received, imported once: a payment_id seen again is not allocated again.
CREATE {{temp}} TABLE IF NOT EXISTS payments (
    payment_id     VARCHAR PRIMARY KEY,
    customer_id    VARCHAR NOT NULL,
    received_date  DATE NOT NULL,
    amount         DECIMAL(38, 4) NOT NULL,       -- > 0
    currency       VARCHAR NOT NULL,
    invoice_number VARCHAR,                       -- the invoice the payer named, if any
    source_file    VARCHAR NOT NULL,              -- file name it came from
    source_line    INTEGER NOT NULL,              -- line in that file (the header is line 1)
    import_seq     INTEGER NOT NULL,              -- 1, 2, ... one per import that added payments
    imported_at    TIMESTAMPTZ NOT NULL           -- wall clock (information only)
);

-- One row per (payment, invoice document) it pays; what a payment does not allocate is the customer's credit.
CREATE {{temp}} TABLE IF NOT EXISTS payment_allocations (
    payment_id     VARCHAR NOT NULL,
    invoice_number VARCHAR NOT NULL,
    amount         DECIMAL(38, 4) NOT NULL,       -- > 0
    PRIMARY KEY (payment_id, invoice_number)
);
