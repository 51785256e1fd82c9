-- Ceremony state of WebAuthn registrations and sign-ins. A row is taken
-- (deleted and returned in one statement) when the ceremony finishes, so a
-- challenge is single-use whatever node finishes it.
CREATE TABLE webauthn_flows (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('register', 'login', 'reauth')),
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX webauthn_flows_expires ON webauthn_flows (expires_at);
