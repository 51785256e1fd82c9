-- keyshift schema, version 1 (SQLite). Times are INTEGER milliseconds since
-- the Unix epoch, UTC; booleans are 0/1; binary values are BLOBs.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL,
    email_key      TEXT NOT NULL UNIQUE,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    name           TEXT NOT NULL DEFAULT '',
    external_id    TEXT UNIQUE,
    webauthn_id    BLOB NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- One row per way of proving identity: at most one password per user (the
-- partial unique index below), any number of WebAuthn credentials.
CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type            TEXT NOT NULL CHECK (type IN ('password', 'webauthn')),
    password_hash   TEXT,
    password_format TEXT,
    credential_id   BLOB UNIQUE,
    public_key      BLOB,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    aaguid          BLOB,
    transports      TEXT NOT NULL DEFAULT '',
    attachment      TEXT NOT NULL DEFAULT '',
    backup_eligible INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
    backup_state    INTEGER NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
    user_handle     BLOB,
    name            TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    CHECK (
        (type = 'password' AND password_hash IS NOT NULL AND credential_id IS NULL)
        OR (type = 'webauthn' AND credential_id IS NOT NULL AND public_key IS NOT NULL AND password_hash IS NULL)
    )
);
CREATE UNIQUE INDEX credentials_one_password ON credentials (user_id) WHERE type = 'password';
CREATE INDEX credentials_user ON credentials (user_id, type);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    token_hash       BLOB NOT NULL UNIQUE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_method      TEXT NOT NULL,
    authenticated_at INTEGER NOT NULL,
    stepped_up_at    INTEGER,
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    user_agent       TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- The audit log: append-only. user_id has no foreign key on purpose: the
-- trail of an account outlives the account.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    type       TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    method     TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_user ON events (user_id, at);
CREATE INDEX events_type_at ON events (type, at);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Failure counters for back-off, shared by every node.
CREATE TABLE throttles (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
);
CREATE INDEX throttles_last_failure ON throttles (last_failure_at);

-- Server-side secrets shared by every node (cookie signing keys and later
-- sealing and token-signing keys), made on first use.
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
