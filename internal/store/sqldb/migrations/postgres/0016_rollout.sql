-- The staged rollout (docs/rollout.md): one row that every node reads, the
-- audit of every change to it, each member's answers to it, and the admin
-- API's bearer tokens that change it.

-- The rollout itself. id is always 1: there is one rollout per install. salt
-- keys the percentage ramp's hash and is made with the row. Lists are JSON
-- arrays. version counts changes, so a node can tell a stale copy.
CREATE TABLE rollout (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    phase            TEXT NOT NULL,
    percent          INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
    internal_domains TEXT NOT NULL DEFAULT '[]',
    internal_emails  TEXT NOT NULL DEFAULT '[]',
    salt             BYTEA NOT NULL,
    new_users_since  TIMESTAMPTZ,
    held             BOOLEAN NOT NULL DEFAULT FALSE,
    held_reasons     TEXT NOT NULL DEFAULT '[]',
    version          INTEGER NOT NULL DEFAULT 1,
    updated_at       TIMESTAMPTZ NOT NULL,
    updated_by       TEXT NOT NULL
);

-- Every change, append-only: who (token name or OS user), when, the whole
-- state before and after (JSON, without the salt), why, and whether force
-- overrode a refusal (and which tripped guardrails it overrode).
CREATE TABLE rollout_changes (
    id       BIGSERIAL PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL,
    changed_by TEXT NOT NULL,
    state_before TEXT NOT NULL,
    state_after TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT '',
    forced   BOOLEAN NOT NULL DEFAULT FALSE,
    tripped  TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX rollout_changes_at ON rollout_changes (at);

-- A member's answers to the rollout: "Try passkeys" (the beta cohort), "Go
-- passwordless" (consent to retire the password), and the nudge's "Not now"
-- and "Don't ask again". No row = no answer yet.
CREATE TABLE rollout_members (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    passkey_beta  BOOLEAN NOT NULL DEFAULT FALSE,
    passwordless  BOOLEAN NOT NULL DEFAULT FALSE,
    nudge_never   BOOLEAN NOT NULL DEFAULT FALSE,
    nudge_snoozes INTEGER NOT NULL DEFAULT 0,
    nudge_until   TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX rollout_members_beta ON rollout_members (user_id) WHERE passkey_beta;

-- Admin API bearer tokens made with `keyshift admin token create`: the
-- token is shown once and kept as its SHA-256 (256 random bits: nothing to
-- guess). scopes is a JSON array. A revoked token stays listed.
CREATE TABLE admin_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_hash   BYTEA NOT NULL UNIQUE,
    scopes       TEXT NOT NULL DEFAULT '["all"]',
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
