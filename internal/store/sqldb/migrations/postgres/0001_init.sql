-- keyshift schema, version 1 (PostgreSQL).

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL,
    email_key      TEXT NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name           TEXT NOT NULL DEFAULT '',
    external_id    TEXT UNIQUE,
    webauthn_id    BYTEA NOT NULL UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- One row per way of proving identity: at most one password per user (the
-- partial unique index below), any number of WebAuthn credentials.
CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type            TEXT NOT NULL CHECK (type IN ('password', 'webauthn')),
    password_hash   TEXT,
    password_format TEXT,
    credential_id   BYTEA UNIQUE,
    public_key      BYTEA,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    aaguid          BYTEA,
    transports      TEXT NOT NULL DEFAULT '',
    attachment      TEXT NOT NULL DEFAULT '',
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state    BOOLEAN NOT NULL DEFAULT FALSE,
    user_handle     BYTEA,
    name            TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ,
    CHECK (
        (type = 'password' AND password_hash IS NOT NULL AND credential_id IS NULL)
        OR (type = 'webauthn' AND credential_id IS NOT NULL AND public_key IS NOT NULL AND password_hash IS NULL)
    )
);
CREATE UNIQUE INDEX credentials_one_password ON credentials (user_id) WHERE type = 'password';
CREATE INDEX credentials_user ON credentials (user_id, type);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    token_hash       BYTEA NOT NULL UNIQUE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_method      TEXT NOT NULL,
    authenticated_at TIMESTAMPTZ NOT NULL,
    stepped_up_at    TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    user_agent       TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- The audit log: append-only. user_id has no foreign key on purpose: the
-- trail of an account outlives the account.
CREATE TABLE events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    type       TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    method     TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    data       JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_user ON events (user_id, at);
CREATE INDEX events_type_at ON events (type, at);
CREATE FUNCTION keyshift_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION keyshift_events_append_only();

-- Failure counters for back-off, shared by every node.
CREATE TABLE throttles (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX throttles_last_failure ON throttles (last_failure_at);

-- Server-side secrets shared by every node (cookie signing keys and later
-- sealing and token-signing keys), made on first use.
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    secret     BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
