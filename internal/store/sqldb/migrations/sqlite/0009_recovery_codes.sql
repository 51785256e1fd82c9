-- Recovery codes: a member's set of single-use codes for signing in when
-- their passkeys and password are out of reach. Only the SHA-256 of a code
-- is kept (codes carry 50 random bits, so a fast hash is enough). A code is
-- deleted when used, in the statement that checks it, so each works once;
-- a new set replaces the whole old one.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
