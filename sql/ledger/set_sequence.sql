-- A series' last number after a batch.
UPDATE number_sequences SET last_value = $v WHERE series = $s
