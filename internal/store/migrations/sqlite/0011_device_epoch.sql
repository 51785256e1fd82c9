-- Device cookies carry the account's device epoch in their MAC. Signing out
-- everywhere, a password change, an email-change revert and a recovery-code
-- sign-in move it on, so a thief's device cookie stops counting as the
-- member's trusted browser (docs/security.md, T20).
ALTER TABLE users ADD COLUMN device_epoch INTEGER NOT NULL DEFAULT 0;
