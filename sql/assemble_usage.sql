-- assemble_usage: usage.parquet's rows (pipeline/billing/assemble.py): one per usage line, in the
-- invoices' and lines' order; the caller adds each invoice's columns by period_idx.
SELECT l.period_idx, c.charge_id, c.metric_id, l.group_key, l.quantity, l.events
FROM charge_lines l
JOIN charge_key_t c USING (charge_key)
WHERE l.kind = 'usage'
ORDER BY l.period_idx, l.pos, l.group_rank
