-- The last number of each series (invoice, credit_note).
SELECT series, last_value FROM number_sequences
