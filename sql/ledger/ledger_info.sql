-- A new ledger's schema version and the usagebill that made it.
INSERT INTO ledger_info VALUES ('schema_version', $v), ('created_by', $by)
