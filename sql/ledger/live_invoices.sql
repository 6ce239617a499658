-- One row per billed period of scope_keys_t (contract_id, period_start) that has a live invoice (kind
-- 'invoice', status 'issued'): that invoice's header. A period with a live invoice is issued; `issue` skips
-- it (or, with --reissue, replaces it). Only the periods asked for are read: a batch's cost is its own.
SELECT i.*
FROM invoices i
JOIN scope_keys_t k ON k.contract_id = i.contract_id AND k.period_start = i.period_start
WHERE i.kind = 'invoice' AND i.status = 'issued'
ORDER BY i.sequence
