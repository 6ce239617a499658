-- Invoices cancelled in full by a credit note of this batch: status issued -> credited.
-- Table: credited_t (invoice_number). Documents are never deleted.
UPDATE invoices
SET status = 'credited'
WHERE status = 'issued'
  AND invoice_number IN (SELECT invoice_number FROM credited_t)
