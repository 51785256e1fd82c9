-- How a session last proved its member present (docs/security.md,
-- "Step-up"): sessions.auth_method says how it signed in, and
-- stepped_up_method which proof its last step-up took (a passkey, the
-- password, an email code). For a member with a passkey only a passkey
-- counts for sensitive actions. Step-ups made before this column existed
-- have '' and count for none: such a session steps up again.
ALTER TABLE sessions ADD COLUMN stepped_up_method TEXT NOT NULL DEFAULT '';

-- Step-up codes: a 6-digit code mailed to the verified address of a member
-- with neither passkey nor password, bound to the session that asked. Only
-- the code's HMAC (under the server's code key, salted with the id) is
-- kept; attempts counts tries in the statement that refuses the sixth; a
-- right code deletes the row in one statement (single-use). A session has
-- at most one: a new request replaces the last.
CREATE TABLE reauth_codes (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reauth_codes_expires ON reauth_codes (expires_at);
