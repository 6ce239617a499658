-- Every billed period (contract_id, period_start) that has a live invoice (kind 'invoice', status 'issued'):
-- the periods `nightly` does not bill again. Two columns only: the keys, not the headers.
SELECT contract_id, period_start
FROM invoices
WHERE kind = 'invoice' AND status = 'issued'
