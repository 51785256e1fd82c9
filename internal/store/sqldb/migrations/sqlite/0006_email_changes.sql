-- Email changes in progress and their revert links. kind 'confirm': a link
-- mailed to the NEW address (email, email_key) that moves the account there
-- while its address is still old_key. kind 'revert': a link mailed to the
-- OLD address (email, email_key) after a change, restoring it. Only the
-- SHA-256 of a link's token is kept; a row is taken (deleted and returned in
-- one statement) when its link is used, so each works once.
CREATE TABLE email_changes (
    token_hash BLOB PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('confirm', 'revert')),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    email_key  TEXT NOT NULL,
    old_key    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX email_changes_user ON email_changes (user_id, kind);
CREATE INDEX email_changes_expires ON email_changes (expires_at);
