-- The documents of export $export_id. Table: exported_t (document_number).
INSERT INTO export_documents SELECT $export_id, document_number FROM exported_t
