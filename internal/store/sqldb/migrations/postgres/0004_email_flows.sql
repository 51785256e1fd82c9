-- Email sign-in flows: one mail with a link and a 6-digit code. Only hashes
-- are kept: SHA-256 of the link's token, HMAC of the code under a server key
-- salted with the flow id. A flow is taken (deleted and returned in one
-- statement) when either is used, so both die together and exactly one of
-- many concurrent redemptions wins. attempts counts code tries; the write
-- that counts a try refuses the sixth.
CREATE TABLE email_flows (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    email_key  TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    code_hash  BYTEA NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_flows_expires ON email_flows (expires_at);
