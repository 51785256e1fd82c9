-- The admin role (docs/telemetry.md, "The dashboard"): members granted it
-- with `keyshift admin grant` reach /admin, but only in a session that
-- proved a passkey. One row per member holding it; it goes with the account.
CREATE TABLE admin_members (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    granted_at INTEGER NOT NULL,
    granted_by TEXT NOT NULL DEFAULT ''
);

