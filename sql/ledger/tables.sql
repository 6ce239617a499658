-- Every table the connection sees.
SELECT table_name FROM information_schema.tables
