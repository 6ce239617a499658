-- The numbers of the documents `usagebill send` has sent (each once, whatever the resends), one row each.
SELECT DISTINCT document_number AS number FROM sent_documents ORDER BY number
