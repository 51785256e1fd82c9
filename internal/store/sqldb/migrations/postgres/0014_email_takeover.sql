-- Email takeover (docs/security.md, T1, T2, T14).
--
-- A confirmation link ('confirm') remembers the session that asked for the
-- change, which must still be alive when the link is used, and the SHA-256
-- of the cancel link mailed to the account's current address. undo_since is
-- when whoever asked could start acting (the asking session's sign-in):
-- passkeys, recovery codes and a password added or changed since then are
-- undone by the revert. A revert link ('revert') carries undo_since on, and
-- the password the account had before undo_since, to put back (NULL: none
-- known, so a password set since is removed). While a revert link lives,
-- its address (email_key) stays reserved to its account.
ALTER TABLE email_changes ADD COLUMN session_id TEXT;
ALTER TABLE email_changes ADD COLUMN cancel_hash BYTEA;
ALTER TABLE email_changes ADD COLUMN undo_since TIMESTAMPTZ;
ALTER TABLE email_changes ADD COLUMN password_hash TEXT;
ALTER TABLE email_changes ADD COLUMN password_format TEXT;
CREATE UNIQUE INDEX email_changes_cancel ON email_changes (cancel_hash) WHERE cancel_hash IS NOT NULL;
CREATE INDEX email_changes_reserved ON email_changes (email_key, expires_at) WHERE kind = 'revert';
