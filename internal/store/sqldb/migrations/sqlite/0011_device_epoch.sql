-- Device cookies carry the account's device epoch in their MAC. Signing out
-- everywhere, a password change, an email-change revert and a recovery-code
-- sign-in move it on, so a thief's device cookie stops counting as the
-- member's trusted browser (docs/security.md, T20).
ALTER TABLE users ADD COLUMN device_epoch INTEGER NOT NULL DEFAULT 0;

-- New-device notices, at most one an hour per member: sign-ins in between
-- are held back (pending, since pending_since, with the latest browser and IP) and reported
-- together (docs/security.md, T16). One row per member who got one.
CREATE TABLE new_device_notices (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_sent_at INTEGER NOT NULL,
    pending      INTEGER NOT NULL DEFAULT 0,
    reported     INTEGER NOT NULL DEFAULT 0,
    -- pending_since is when the first held-back sign-in was made.
    pending_since INTEGER,
    last_browser TEXT NOT NULL DEFAULT '',
    last_ip      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX new_device_notices_pending ON new_device_notices (last_sent_at) WHERE pending > 0;
