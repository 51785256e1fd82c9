-- Secrets at rest (issues 20.5 and 18.4). Keys come from the pepper, which is
-- not in the database (package pepper), so a copy of this file alone opens
-- neither the outbox nor the recovery codes.
--
-- The outbox keeps a mail's subject and bodies sealed with AES-256-GCM in
-- `sealed`; subject, text_body and html_body stay empty for new mail (a
-- sign-in code is in the subject). Once a mail is sent, `sealed` is wiped,
-- except behind the dev mailer, which shows it at /dev/mail until the 7-day
-- purge.
ALTER TABLE outbox ADD COLUMN sealed BLOB;
-- Mail queued before this version is in clear: what was sent or failed is
-- not needed any more and goes now; what is still queued is sent from its
-- clear columns and wiped once sent.
UPDATE outbox SET subject = '', text_body = '', html_body = '' WHERE status <> 'queued';

-- A recovery code is stored as HMAC-SHA256 of the member's id and the code
-- under a key derived from the pepper named by pepper_id. '' marks a code
-- made before this version (plain SHA-256), accepted until used or replaced.
ALTER TABLE recovery_codes ADD COLUMN pepper_id TEXT NOT NULL DEFAULT '';
