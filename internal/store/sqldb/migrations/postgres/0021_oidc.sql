-- keyshift as an OpenID Provider (docs/integrate.md): the apps allowed to
-- ask (clients), the keys that sign their tokens, the authorization requests
-- in flight, and the tokens handed out. Secrets, codes and tokens are stored
-- as SHA-256 hashes of high-entropy random values; lists are space-separated.
CREATE TABLE oidc_clients (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    secret_hash         BYTEA,            -- NULL: a public client (PKCE S256 required)
    redirect_uris       TEXT NOT NULL,
    logout_uris         TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    revoked_at          TIMESTAMPTZ
);

-- Signing keys: the newest unretired one signs; every key is published in
-- the JWKS until published_until, so tokens it signed still verify.
CREATE TABLE oidc_keys (
    id              TEXT PRIMARY KEY,
    alg             TEXT NOT NULL,
    private_der     BYTEA NOT NULL,       -- PKCS #8
    created_at      TIMESTAMPTZ NOT NULL,
    retired_at      TIMESTAMPTZ,
    published_until TIMESTAMPTZ
);

CREATE TABLE oidc_auth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT '',
    nonce          TEXT NOT NULL DEFAULT '',
    scopes         TEXT NOT NULL,
    response_type  TEXT NOT NULL,
    response_mode  TEXT NOT NULL DEFAULT '',
    code_challenge TEXT NOT NULL DEFAULT '',
    prompt         TEXT NOT NULL DEFAULT '',
    max_age        INTEGER,              -- seconds; NULL when not asked
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    auth_time      TIMESTAMPTZ,
    auth_method    TEXT NOT NULL DEFAULT '',
    code_hash      BYTEA UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- Access and refresh tokens: one row a grant. The access token is the
-- provider's encrypted "id:subject"; the refresh token, when there is one,
-- is stored hashed and replaced at each use.
CREATE TABLE oidc_tokens (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes             TEXT NOT NULL,
    auth_time          TIMESTAMPTZ NOT NULL,
    auth_method        TEXT NOT NULL,
    refresh_hash       BYTEA UNIQUE,
    access_expires_at  TIMESTAMPTZ NOT NULL,
    refresh_expires_at TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_tokens_user ON oidc_tokens (user_id, client_id);
