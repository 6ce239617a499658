-- Record one message the SMTP server accepted (pipeline/send.py). Parameters: $message_id, $number,
-- $recipients, $attachments (JSON), $at, $resend.
INSERT INTO sent_documents VALUES ($message_id, $number, $recipients, $attachments, $at, $resend)
