-- Prepaid credit (docs/credits.md): grants, what was drawn from them and from customer credit, refunds.
-- Run after schema.sql every time a ledger is opened for writing (CREATE ... IF NOT EXISTS: additive, so a ledger
-- made before these tables gets them on its first write); a reader of such a ledger gets empty TEMP tables of the
-- same shape ({{temp}} is TEMP or empty). Money is DECIMAL(38, 4) rounded to the currency's minor unit.

-- One row per imported grant (usagebill credits import): prepaid money a customer may spend on invoices in its
-- currency issued in [effective_date, expiry_date). A grant_id is imported once.
CREATE {{temp}} TABLE IF NOT EXISTS credit_grants (
    grant_id       VARCHAR PRIMARY KEY,
    customer_id    VARCHAR NOT NULL,
    currency       VARCHAR NOT NULL,
    amount         DECIMAL(38, 4) NOT NULL,   -- > 0
    effective_date DATE NOT NULL,
    expiry_date    DATE,                      -- NULL: never expires; else after effective_date
    priority       INTEGER NOT NULL,          -- lower is drawn first (default 100)
    description    VARCHAR NOT NULL,          -- '' when none
    source_file    VARCHAR NOT NULL,          -- file name it came from
    source_line    INTEGER NOT NULL,          -- line in that file (the header is line 1)
    import_seq     INTEGER NOT NULL,          -- 1, 2, ... one per import that added grants
    imported_at    TIMESTAMPTZ NOT NULL       -- wall clock (information only)
);

-- One row per amount of credit applied to an invoice document: from a grant, or from the customer's credit
-- (overpayments, money freed by a credited invoice). Drawn when the invoice was issued (kind 'issue', in the
-- batch's transaction) or by `usagebill credits apply` (kind 'apply'). What an invoice credited since (status
-- 'credited') drew is released: it counts for neither the grant's use nor the customer credit applied.
CREATE {{temp}} TABLE IF NOT EXISTS credit_allocations (
    allocation_id  INTEGER PRIMARY KEY,       -- 1, 2, ... in the order recorded
    invoice_number VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,          -- grant | customer_credit
    grant_id       VARCHAR,                   -- source 'grant': the grant; else NULL
    amount         DECIMAL(38, 4) NOT NULL,   -- > 0
    applied_date   DATE NOT NULL,             -- kind issue: the invoice's issue_date; apply: the apply's date
    kind           VARCHAR NOT NULL,          -- issue | apply
    run_seq        INTEGER,                   -- kind issue: the batch (runs.run_seq) that issued the invoice
    apply_seq      INTEGER                    -- kind apply: 1, 2, ... one per `credits apply` that applied credit
);

-- One row per refund of customer credit (usagebill credits refund): money paid back, never more than the credit.
CREATE {{temp}} TABLE IF NOT EXISTS credit_refunds (
    reference   VARCHAR PRIMARY KEY,          -- --reference: recorded once
    customer_id VARCHAR NOT NULL,
    currency    VARCHAR NOT NULL,
    amount      DECIMAL(38, 4) NOT NULL,      -- > 0
    refund_date DATE NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL          -- wall clock (information only)
);
