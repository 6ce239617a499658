-- invoice_line_terms of a batch: each line's terms_source (pipeline/ledger/issue.py line_terms).
-- Grain: one row per line some term prices, in the lines' order (row).
-- Tables: lines_k (row, invoice_number, line_number, terms_key, line_type, charge_id: each line with
-- the index of its invoice's terms), sources_t (terms_key, line_type, charge_id, terms_source: each
-- distinct combination's source, Terms.line_source). A line without a charge (discount, commitment)
-- matches on a null charge_id.
SELECT l.invoice_number, l.line_number, s.terms_source
FROM lines_k l
JOIN sources_t s
  ON s.terms_key = l.terms_key AND s.line_type = l.line_type AND s.charge_id IS NOT DISTINCT FROM l.charge_id
WHERE s.terms_source IS NOT NULL
ORDER BY l.row
