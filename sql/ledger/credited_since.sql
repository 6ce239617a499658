-- Invoices credited by a batch after ledger run $run_seq: they were still `issued` when an export recorded at
-- that run wrote them. A reissue or cancellation in run R credits the period's invoice documents issued
-- before R (sql/ledger/mark_credited.sql via pipeline/ledger/documents.py Batch.cancel).
-- Parameters: $run_seq.
SELECT DISTINCT i.invoice_number
FROM invoices i
WHERE i.status = 'credited' AND i.run_seq <= $run_seq AND NOT EXISTS (
    SELECT 1 FROM credit_notes c
    WHERE c.contract_id = i.contract_id AND c.period_start = i.period_start
      AND c.reason IN ('reissue', 'cancellation') AND c.run_seq > i.run_seq AND c.run_seq <= $run_seq)
