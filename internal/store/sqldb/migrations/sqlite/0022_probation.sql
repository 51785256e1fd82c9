-- Probation (docs/security.md, "Probation"; email_signin.passkey_accounts):
-- a passkey added in a session that only a weaker channel proved (an email
-- link or code, a recovery code, a password) of a member who already held
-- a passkey cannot, until probation_until, remove older passkeys, change
-- the email or the password, or make recovery codes. probation_via is the
-- sign-in method of the session that added it and added_session_id that
-- session, so "This wasn't me" can end it. disown_hash is the SHA-256 of
-- the mailed "This wasn't me" link's token, usable until disown_expires_at;
-- taking it deletes the passkey in one statement (single use).
ALTER TABLE credentials ADD COLUMN probation_until INTEGER;
ALTER TABLE credentials ADD COLUMN probation_via TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN added_session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN disown_hash BLOB;
ALTER TABLE credentials ADD COLUMN disown_expires_at INTEGER;
CREATE UNIQUE INDEX credentials_disown_hash ON credentials (disown_hash);

-- Which passkey (credentials.id) proved a session: signin_passkey its
-- sign-in, stepped_up_passkey its last step-up; '' for other proofs. A
-- session a passkey on probation proved is on probation with it.
ALTER TABLE sessions ADD COLUMN signin_passkey TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN stepped_up_passkey TEXT NOT NULL DEFAULT '';
