-- The ledger, schema version 1: the record of issued documents (docs/ledger.md).
-- Run in one transaction when a ledger is opened for writing; every statement is idempotent.
-- Money is DECIMAL(38, 4) holding values rounded to the currency's minor unit, as in the outputs.
-- No DuckDB SEQUENCE: numbers come from number_sequences, updated in the batch's own transaction,
-- so a rolled-back or killed batch never burns a number.

CREATE TABLE IF NOT EXISTS ledger_info (
    key   VARCHAR PRIMARY KEY,               -- schema_version, created_by
    value VARCHAR NOT NULL
);

-- One row per number series: 'invoice' ({prefix}-{n}) and 'credit_note' ({prefix}-CN-{n}).
CREATE TABLE IF NOT EXISTS number_sequences (
    series     VARCHAR PRIMARY KEY,
    last_value BIGINT NOT NULL               -- the last number used; the next document gets last_value + 1
);

-- One row per committed batch (issue, nightly, reconcile --adjust), run_seq 1, 2, ... in commit order.
CREATE TABLE IF NOT EXISTS runs (
    run_seq      INTEGER PRIMARY KEY,
    run_id       VARCHAR NOT NULL,           -- names the batch's output folder
    command      VARCHAR NOT NULL,           -- issue | nightly | reconcile
    recorded_at  TIMESTAMPTZ NOT NULL,       -- wall clock of the commit (information only)
    invoices     INTEGER NOT NULL,           -- invoice documents issued (invoices and adjustments)
    credit_notes INTEGER NOT NULL,
    manifest     VARCHAR NOT NULL            -- the batch's manifest.json, as written to its output folder
);

-- One row per invoice document. (contract_id, period_start) is the billed period; at most one row of a
-- period has kind 'invoice' and status 'issued' (its live invoice).
CREATE TABLE IF NOT EXISTS invoices (
    invoice_number          VARCHAR PRIMARY KEY,    -- {invoice_prefix}-{sequence}
    sequence                BIGINT NOT NULL UNIQUE, -- 1, 2, ... gapless over the company's invoices
    kind                    VARCHAR NOT NULL,       -- invoice | adjustment
    status                  VARCHAR NOT NULL,       -- issued | credited
    original_invoice_number VARCHAR,                -- reissue: the invoice it replaces; adjustment: the one it adjusts
    invoice_id              VARCHAR NOT NULL,       -- in_...: the same (contract, period) gives the same id
    customer_id             VARCHAR NOT NULL,
    contract_id             VARCHAR NOT NULL,
    plan_id                 VARCHAR NOT NULL,
    currency                VARCHAR NOT NULL,
    period_start            DATE NOT NULL,
    period_end              DATE NOT NULL,
    issue_date              DATE NOT NULL,
    due_date                DATE NOT NULL,
    subtotal                DECIMAL(38, 4) NOT NULL,
    discount_total          DECIMAL(38, 4) NOT NULL,
    tax_percent             DECIMAL(12, 6) NOT NULL,
    tax_note                VARCHAR NOT NULL,
    tax_name                VARCHAR NOT NULL,
    tax_total               DECIMAL(38, 4) NOT NULL,
    total                   DECIMAL(38, 4) NOT NULL,
    run_seq                 INTEGER NOT NULL        -- the batch that issued it
);

CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_number VARCHAR NOT NULL,
    line_number    INTEGER NOT NULL,
    line_type      VARCHAR NOT NULL,        -- flat, usage, minimum, commitment, discount
    charge_id      VARCHAR,
    metric_id      VARCHAR,
    group_key      VARCHAR NOT NULL,
    description    VARCHAR NOT NULL,
    quantity       DECIMAL(38, 9) NOT NULL,
    unit_price     DECIMAL(38, 12),
    amount         DECIMAL(38, 4) NOT NULL,
    currency       VARCHAR NOT NULL,
    service_start  DATE NOT NULL,
    service_end    DATE NOT NULL,
    PRIMARY KEY (invoice_number, line_number)
);

-- One row per credit note. Amounts are what is credited (positive reduces what the customer owes);
-- the net billed for a period is its invoices minus its credit notes.
CREATE TABLE IF NOT EXISTS credit_notes (
    credit_note_number VARCHAR PRIMARY KEY,   -- {invoice_prefix}-CN-{sequence}
    sequence           BIGINT NOT NULL UNIQUE,
    invoice_number     VARCHAR NOT NULL,      -- the period's invoice it credits
    reason             VARCHAR NOT NULL,      -- reissue | adjustment | cancellation
    invoice_id         VARCHAR NOT NULL,
    customer_id        VARCHAR NOT NULL,
    contract_id        VARCHAR NOT NULL,
    plan_id            VARCHAR NOT NULL,
    currency           VARCHAR NOT NULL,
    period_start       DATE NOT NULL,
    period_end         DATE NOT NULL,
    issue_date         DATE NOT NULL,
    subtotal           DECIMAL(38, 4) NOT NULL,
    discount_total     DECIMAL(38, 4) NOT NULL,
    tax_percent        DECIMAL(12, 6) NOT NULL,
    tax_note           VARCHAR NOT NULL,
    tax_name           VARCHAR NOT NULL,
    tax_total          DECIMAL(38, 4) NOT NULL,
    total              DECIMAL(38, 4) NOT NULL,
    run_seq            INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS credit_note_lines (
    credit_note_number VARCHAR NOT NULL,
    line_number        INTEGER NOT NULL,
    line_type          VARCHAR NOT NULL,
    charge_id          VARCHAR,
    metric_id          VARCHAR,
    group_key          VARCHAR NOT NULL,
    description        VARCHAR NOT NULL,
    quantity           DECIMAL(38, 9) NOT NULL,
    unit_price         DECIMAL(38, 12),
    amount             DECIMAL(38, 4) NOT NULL,
    currency           VARCHAR NOT NULL,
    service_start      DATE NOT NULL,
    service_end        DATE NOT NULL,
    PRIMARY KEY (credit_note_number, line_number)
);

INSERT INTO number_sequences SELECT * FROM (VALUES ('invoice', 0), ('credit_note', 0)) v(series, last_value)
WHERE NOT EXISTS (SELECT 1 FROM number_sequences);

-- One row per issued invoice line (contract v2 terms): what set the prices that line was rated
-- with: `plan P`, `plan P version D`, `contract K terms from D` (a charge's source), `one_time_charges`
-- (a one-time line), or for commitment and discount lines `contracts.csv` or the contract entry.
-- Added after schema version 1 was first released; created on the first write to an older ledger.
CREATE TABLE IF NOT EXISTS invoice_line_terms (
    invoice_number VARCHAR NOT NULL,
    line_number    INTEGER NOT NULL,
    terms_source   VARCHAR NOT NULL,
    PRIMARY KEY (invoice_number, line_number)
);

-- One row per `usagebill export --pending` (docs/month-end-exports.md): the files it published and the
-- documents they hold, recorded after the files were in place. A document is pending in a format until an
-- export of that format lists it in export_documents. Added after schema version 1 was first released;
-- created on the first write to an older ledger.
CREATE TABLE IF NOT EXISTS exports (
    export_id  INTEGER PRIMARY KEY,          -- 1, 2, ... in the order exports were recorded
    format     VARCHAR NOT NULL,             -- csv | xero | quickbooks | netsuite
    created_at TIMESTAMPTZ NOT NULL,         -- wall clock of the recording
    folder     VARCHAR NOT NULL,             -- where the files were published
    files      VARCHAR NOT NULL,             -- JSON list of {"name", "sha256"} of the data files written
    documents  INTEGER NOT NULL,             -- number of documents (invoices and credit notes) exported
    run_seq    INTEGER NOT NULL              -- the ledger's last run then: statuses are as of that run
);

CREATE TABLE IF NOT EXISTS export_documents (
    export_id       INTEGER NOT NULL,
    document_number VARCHAR NOT NULL,        -- an invoice_number or a credit_note_number
    PRIMARY KEY (export_id, document_number)
);

-- One row per message `usagebill send` handed to the SMTP server and the server accepted (docs/production.md):
-- a document with a row is sent (a later send skips it unless --resend, which adds another row). Recorded
-- right after the server accepted the message, one transaction per message. Added after schema version 1;
-- created on the first write to an older ledger.
CREATE TABLE IF NOT EXISTS sent_documents (
    message_id      VARCHAR PRIMARY KEY,     -- the message's Message-ID header
    document_number VARCHAR NOT NULL,        -- an invoice_number or a credit_note_number
    recipients      VARCHAR NOT NULL,        -- the To: addresses the server accepted, comma separated
    attachments     VARCHAR NOT NULL,        -- JSON list of {"name", "sha256"} of the files attached
    sent_at         TIMESTAMPTZ NOT NULL,    -- wall clock when the server accepted it
    resend          BOOLEAN NOT NULL         -- sent again by --resend
);

-- The tasks `issue --then` and `nightly --then` run after a committed batch (docs/production.md), one row per
-- batch and task: pending until it succeeds, failed (with its message) until a later --then naming the same
-- task retries it. Added after schema version 1; created on the first write to an older ledger.
CREATE TABLE IF NOT EXISTS post_issue_tasks (
    run_seq    INTEGER NOT NULL,             -- the batch whose documents the task handles
    task       VARCHAR NOT NULL,             -- render:pdf, render:ubl, export:FORMAT, send
    status     VARCHAR NOT NULL,             -- pending | done | failed
    attempts   INTEGER NOT NULL,             -- runs of the task so far
    updated_at TIMESTAMPTZ NOT NULL,         -- wall clock of the last change
    detail     VARCHAR,                      -- done: what it wrote or sent; failed: why
    PRIMARY KEY (run_seq, task)
);
