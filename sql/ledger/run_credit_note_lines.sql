-- One row per line of a credit note issued by ledger run $run_seq, in number then line order.
SELECT l.*
FROM credit_note_lines l
JOIN credit_notes c USING (credit_note_number)
WHERE c.run_seq = $run_seq
ORDER BY c.sequence, l.line_number
