-- Ledger integrity: one row per broken rule (check, detail); no rows means the ledger is sound.
-- Used by `usagebill check-ledger` and by the kill and concurrency tests.
WITH inv_lines AS (
    SELECT invoice_number AS number, count(*) AS n, max(line_number) AS max_line,
           count(DISTINCT line_number) AS distinct_lines,
           sum(amount) FILTER (line_type <> 'discount') AS lines_subtotal,
           coalesce(-sum(amount) FILTER (line_type = 'discount'), 0) AS lines_discount
    FROM invoice_lines GROUP BY ALL
), cn_lines AS (
    SELECT credit_note_number AS number, count(*) AS n, max(line_number) AS max_line,
           count(DISTINCT line_number) AS distinct_lines,
           sum(amount) FILTER (line_type <> 'discount') AS lines_subtotal,
           coalesce(-sum(amount) FILTER (line_type = 'discount'), 0) AS lines_discount
    FROM credit_note_lines GROUP BY ALL
), headers AS (
    SELECT 'invoice' AS series, invoice_number AS number, sequence, subtotal, discount_total, tax_total, total
    FROM invoices
    UNION ALL
    SELECT 'credit_note', credit_note_number, sequence, subtotal, discount_total, tax_total, total FROM credit_notes
), all_lines AS (
    SELECT 'invoice' AS series, * FROM inv_lines UNION ALL SELECT 'credit_note', * FROM cn_lines
), net AS (
    SELECT contract_id, period_start, sum(total) AS total FROM (
        SELECT contract_id, period_start, total FROM invoices
        UNION ALL SELECT contract_id, period_start, -total FROM credit_notes) GROUP BY ALL
)
SELECT 'gapless numbers' AS check,
       series || ': ' || count(*) || ' documents, sequence ' || coalesce(min(sequence), 0) || '..'
       || coalesce(max(sequence), 0) || ', ' || count(DISTINCT sequence) || ' distinct, counter '
       || any_value(s.last_value) AS detail
FROM number_sequences s LEFT JOIN headers h USING (series)
GROUP BY series
HAVING count(h.sequence) <> coalesce(max(h.sequence), 0) OR count(DISTINCT h.sequence) <> count(h.sequence)
    OR coalesce(max(h.sequence), 0) <> any_value(s.last_value) OR coalesce(min(h.sequence), 1) <> 1
UNION ALL
SELECT 'number format', series || ' ' || number || ' has sequence ' || sequence
FROM headers WHERE NOT ends_with(number, '-' || sequence::VARCHAR)
UNION ALL
SELECT 'header arithmetic', series || ' ' || number || ': total is not subtotal - discount_total + tax_total'
FROM headers WHERE total <> subtotal - discount_total + tax_total
UNION ALL
SELECT 'lines', h.series || ' ' || h.number || ': ' || coalesce(l.n, 0) || ' lines, numbered to '
       || coalesce(l.max_line, 0) || ', lines subtotal ' || coalesce(l.lines_subtotal::VARCHAR, 'none')
       || ' vs ' || h.subtotal || ', discount ' || coalesce(l.lines_discount::VARCHAR, 'none') || ' vs '
       || h.discount_total
FROM headers h LEFT JOIN all_lines l USING (series, number)
WHERE l.n IS NULL OR l.max_line <> l.n OR l.distinct_lines <> l.n
   OR l.lines_subtotal IS DISTINCT FROM h.subtotal OR l.lines_discount <> h.discount_total
UNION ALL
SELECT 'orphan lines', l.series || ' ' || l.number || ' has lines but no header'
FROM all_lines l ANTI JOIN headers h USING (series, number)
UNION ALL
SELECT 'one live invoice per period', contract_id || ' ' || period_start || ': ' || string_agg(invoice_number, ', ')
FROM invoices WHERE kind = 'invoice' AND status = 'issued' GROUP BY contract_id, period_start HAVING count(*) > 1
UNION ALL
SELECT 'status and kind', invoice_number || ': kind ' || kind || ', status ' || status
FROM invoices WHERE kind NOT IN ('invoice', 'adjustment') OR status NOT IN ('issued', 'credited')
UNION ALL
SELECT 'references', 'credit note ' || c.credit_note_number || ' credits unknown invoice ' || c.invoice_number
FROM credit_notes c ANTI JOIN invoices i USING (invoice_number)
UNION ALL
SELECT 'references', 'invoice ' || a.invoice_number || ' refers to unknown invoice ' || a.original_invoice_number
FROM invoices a WHERE original_invoice_number IS NOT NULL
  AND original_invoice_number NOT IN (SELECT invoice_number FROM invoices)
UNION ALL
SELECT 'credited has a credit note', i.invoice_number || ' is credited but its period has no reissue or cancellation'
FROM invoices i WHERE status = 'credited' AND NOT EXISTS (
    SELECT 1 FROM credit_notes c WHERE c.contract_id = i.contract_id AND c.period_start = i.period_start
      AND c.reason IN ('reissue', 'cancellation'))
UNION ALL
SELECT 'nothing billed without a live invoice', n.contract_id || ' ' || n.period_start || ' nets ' || n.total
FROM net n WHERE n.total <> 0 AND NOT EXISTS (
    SELECT 1 FROM invoices i WHERE i.contract_id = n.contract_id AND i.period_start = n.period_start
      AND i.kind = 'invoice' AND i.status = 'issued')
UNION ALL
SELECT 'runs', 'runs are numbered ' || count(*) || ' rows up to ' || coalesce(max(run_seq), 0)
FROM runs HAVING count(*) <> coalesce(max(run_seq), 0)
UNION ALL
SELECT 'runs', 'document run_seq ' || d.run_seq || ' has no run'
FROM (SELECT run_seq FROM invoices UNION SELECT run_seq FROM credit_notes) d ANTI JOIN runs USING (run_seq)
