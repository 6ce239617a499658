-- Ledger integrity of one batch, checked before its COMMIT (pipeline/ledger/store.py commit): the rules
-- of sql/ledger/check.sql for what the batch wrote, on a ledger that kept them before it. One row per
-- broken rule (check, detail), as check.sql gives them; no rows: the batch may be committed.
--
-- Reads the batch's documents (run_seq = $run_seq; new rows at the table's end, so the scan skips the
-- older row groups), the lines it inserted (batch_lines_t), the invoices it credited (credited_t) and
-- per series the counter before and after it (batch_t: series, before, after); of the rest of the
-- ledger only the documents of the (contract, period) pairs the batch touches, and per series its
-- document count and largest sequence (column aggregates). It does not read the older lines: the
-- batch adds lines to its own documents only (a rule below), so theirs cannot change.
-- `usagebill check-ledger` runs check.sql over the whole ledger.
WITH new_headers AS (
    SELECT 'invoice' AS series, invoice_number AS number, sequence, subtotal, discount_total, tax_total, total
    FROM invoices WHERE run_seq = $run_seq
    UNION ALL
    SELECT 'credit_note', credit_note_number, sequence, subtotal, discount_total, tax_total, total
    FROM credit_notes WHERE run_seq = $run_seq
), new_lines AS (
    SELECT series, number, count(*) AS n, max(line_number) AS max_line, min(line_number) AS min_line,
           sum(amount) FILTER (line_type <> 'discount') AS lines_subtotal,
           coalesce(-sum(amount) FILTER (line_type = 'discount'), 0) AS lines_discount
    FROM batch_lines_t GROUP BY ALL
), all_docs AS (
    SELECT 'invoice' AS series, count(*) AS n, max(sequence) AS last, min(sequence) AS first FROM invoices
    UNION ALL
    SELECT 'credit_note', count(*), max(sequence), min(sequence) FROM credit_notes
), touched AS (
    SELECT DISTINCT contract_id, period_start FROM (
        SELECT contract_id, period_start FROM invoices WHERE run_seq = $run_seq
        UNION ALL SELECT contract_id, period_start FROM credit_notes WHERE run_seq = $run_seq
        UNION ALL SELECT contract_id, period_start FROM invoices WHERE invoice_number IN (SELECT invoice_number FROM credited_t))
), touched_invoices AS (
    SELECT i.* FROM invoices i SEMI JOIN touched t USING (contract_id, period_start)
), net AS (
    SELECT contract_id, period_start, sum(total) AS total FROM (
        SELECT contract_id, period_start, total FROM touched_invoices
        UNION ALL
        SELECT c.contract_id, c.period_start, -c.total FROM credit_notes c SEMI JOIN touched t USING (contract_id, period_start))
    GROUP BY ALL
)
SELECT 'gapless numbers' AS check,
       b.series || ': ' || coalesce(d.n, 0) || ' documents, sequence ' || coalesce(d.first, 0) || '..'
       || coalesce(d.last, 0) || ', counter ' || s.last_value || ', the batch ' || coalesce(h.n, 0)
       || ' from ' || coalesce(h.first, 0) || ' to ' || coalesce(h.last, 0) || ' after ' || b.before AS detail
FROM batch_t b
JOIN number_sequences s USING (series)
LEFT JOIN all_docs d USING (series)
LEFT JOIN (SELECT series, count(*) AS n, count(DISTINCT sequence) AS distinct_n, min(sequence) AS first,
                  max(sequence) AS last FROM new_headers GROUP BY series) h USING (series)
WHERE s.last_value <> b.after OR coalesce(d.n, 0) <> b.after OR coalesce(d.last, 0) <> b.after
   OR coalesce(d.first, 1) <> 1 OR coalesce(h.n, 0) <> b.after - b.before
   OR (h.n > 0 AND (h.first <> b.before + 1 OR h.last <> b.after OR h.distinct_n <> h.n))
UNION ALL
SELECT 'number format', series || ' ' || number || ' has sequence ' || sequence
FROM new_headers WHERE NOT ends_with(number, '-' || sequence::VARCHAR)
UNION ALL
SELECT 'header arithmetic', series || ' ' || number || ': total is not subtotal - discount_total + tax_total'
FROM new_headers WHERE total <> subtotal - discount_total + tax_total
UNION ALL
SELECT 'lines', h.series || ' ' || h.number || ': ' || coalesce(l.n, 0) || ' lines, numbered to '
       || coalesce(l.max_line, 0) || ', lines subtotal ' || coalesce(l.lines_subtotal::VARCHAR, 'none')
       || ' vs ' || h.subtotal || ', discount ' || coalesce(l.lines_discount::VARCHAR, 'none') || ' vs '
       || h.discount_total
FROM new_headers h LEFT JOIN new_lines l USING (series, number)
WHERE l.n IS NULL OR l.max_line <> l.n OR l.min_line <> 1
   OR l.lines_subtotal IS DISTINCT FROM h.subtotal OR l.lines_discount <> h.discount_total
UNION ALL
SELECT 'orphan lines', l.series || ' ' || l.number || ' has lines but no header in this batch'
FROM new_lines l ANTI JOIN new_headers h USING (series, number)
UNION ALL
SELECT 'one live invoice per period', contract_id || ' ' || period_start || ': ' || string_agg(invoice_number, ', ')
FROM touched_invoices WHERE kind = 'invoice' AND status = 'issued' GROUP BY contract_id, period_start
HAVING count(*) > 1
UNION ALL
SELECT 'status and kind', invoice_number || ': kind ' || kind || ', status ' || status
FROM touched_invoices WHERE kind NOT IN ('invoice', 'adjustment') OR status NOT IN ('issued', 'credited')
UNION ALL
SELECT 'references', 'credit note ' || c.credit_note_number || ' credits unknown invoice ' || c.invoice_number
FROM credit_notes c ANTI JOIN invoices i USING (invoice_number) WHERE c.run_seq = $run_seq
UNION ALL
SELECT 'references', 'invoice ' || a.invoice_number || ' refers to unknown invoice ' || a.original_invoice_number
FROM invoices a WHERE a.run_seq = $run_seq AND original_invoice_number IS NOT NULL
  AND original_invoice_number NOT IN (SELECT invoice_number FROM invoices)
UNION ALL
SELECT 'credited has a credit note', i.invoice_number || ' is credited but its period has no reissue or cancellation'
FROM touched_invoices i WHERE status = 'credited' AND NOT EXISTS (
    SELECT 1 FROM credit_notes c WHERE c.contract_id = i.contract_id AND c.period_start = i.period_start
      AND c.reason IN ('reissue', 'cancellation'))
UNION ALL
SELECT 'nothing billed without a live invoice', n.contract_id || ' ' || n.period_start || ' nets ' || n.total
FROM net n WHERE n.total <> 0 AND NOT EXISTS (
    SELECT 1 FROM touched_invoices i WHERE i.contract_id = n.contract_id AND i.period_start = n.period_start
      AND i.kind = 'invoice' AND i.status = 'issued')
UNION ALL
SELECT 'runs', 'runs are numbered ' || count(*) || ' rows up to ' || coalesce(max(run_seq), 0)
FROM runs HAVING count(*) <> coalesce(max(run_seq), 0) OR max(run_seq) <> $run_seq
