-- Append the registered Arrow table new_<table> to <table>, by column name ({{table}}: one of our own
-- table names, never user input).
INSERT INTO {{table}} BY NAME SELECT * FROM new_{{table}}
