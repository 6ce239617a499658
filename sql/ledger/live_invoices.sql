-- One row per billed period that has a live invoice (kind 'invoice', status 'issued'): that invoice's header.
-- A period with a live invoice is issued; `issue` skips it and `nightly` does not bill it again.
SELECT *
FROM invoices
WHERE kind = 'invoice' AND status = 'issued'
ORDER BY sequence
