-- A batch's run row.
INSERT INTO runs VALUES ($seq, $id, $command, $at, $invoices, $credit_notes, $manifest)
