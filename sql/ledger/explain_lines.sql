-- explain_ledger_lines: the lines of one issued invoice document, to compare with a re-rating.
--
-- Grain: one row per line of invoice $number, in line order.
-- Parameters: $number (the invoice_number).
SELECT line_number, line_type, charge_id, metric_id, group_key, quantity, unit_price, amount
FROM invoice_lines
WHERE invoice_number = $number
ORDER BY line_number
