-- Support recovery (docs/security.md, "Support recovery"; `keyshift admin
-- recover`): support moves an account whose member lost every way in to a
-- new address, after a waiting period in which every known channel of the
-- account can cancel it. One row per recovery, kept after it ends, so the
-- operator's list and the audit show what support did.
--   state:     pending (waiting, or its link mailed) → completed | cancelled
--   ready_at:  the end of the wait; the janitor then mails the new address
--              its one-time link and sets mailed_at and link_expires_at
--   ended_by:  who completed or cancelled it ("member", "link", "session",
--              "cli:NAME", "expired")
-- Its one-time links live in support_links: the cancel link mailed with the
-- notices (kind cancel, alive until the recovery ends) and the completion
-- link mailed to the new address (kind complete); each is only the SHA-256
-- of its token, taken with DELETE … RETURNING.
CREATE TABLE support_recoveries (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    email_key       TEXT NOT NULL,
    evidence        TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'completed', 'cancelled')),
    created_at      INTEGER NOT NULL,
    ready_at        INTEGER NOT NULL,
    mailed_at       INTEGER,
    link_expires_at INTEGER,
    ended_at        INTEGER,
    ended_by        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX support_recoveries_user ON support_recoveries (user_id, state);
CREATE INDEX support_recoveries_due ON support_recoveries (state, ready_at);

CREATE TABLE support_links (
    token_hash  BLOB PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('cancel', 'complete')),
    recovery_id TEXT NOT NULL REFERENCES support_recoveries (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX support_links_recovery ON support_links (recovery_id);
