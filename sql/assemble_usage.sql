-- assemble_usage: usage.parquet (pipeline/billing/assemble.py): one row per usage line, in the
-- invoices' and lines' order.
SELECT p.invoice_id, p.contract_id, p.customer_id, p.period_start, p.period_end, c.charge_id, c.metric_id,
       l.group_key, l.quantity, l.events
FROM charge_lines l
JOIN inv_t p USING (period_idx)
JOIN charge_key_t c USING (charge_key)
WHERE l.kind = 'usage'
ORDER BY l.period_idx, l.pos, l.group_rank
