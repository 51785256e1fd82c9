-- Email verification after sign-up: one row per confirmation mail. Only the
-- SHA-256 of the link's token is kept. A row is taken (deleted and returned
-- in one statement) when the link is used, so it works once; email_key pins
-- the address the mail went to.
CREATE TABLE email_verifications (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email_key  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX email_verifications_user ON email_verifications (user_id);
CREATE INDEX email_verifications_expires ON email_verifications (expires_at);
