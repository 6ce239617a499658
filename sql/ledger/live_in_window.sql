-- The live invoices (kind 'invoice', status 'issued') of the periods ending in ($first, $stop]: headers,
-- the issued side of a reconciliation window. Parameters: $first, $stop (DATE; period_end is exclusive).
SELECT *
FROM invoices
WHERE kind = 'invoice' AND status = 'issued' AND period_end > $first AND period_end <= $stop
ORDER BY sequence
