-- Whether the ledger has the sent_documents table yet.
SELECT 1 FROM information_schema.tables WHERE table_name = 'sent_documents'
