-- One canonical form of every address (docs/security.md, T19): NFC, the
-- domain in its Unicode form whatever spelling (punycode or not) was typed,
-- the local part folded to lower case for ASCII letters only, and no
-- format (zero-width, bidi) or look-alike (Kelvin sign, full-width)
-- characters. Keys made before by strings.ToLower let look-alikes reach an
-- account and let two spellings of one mailbox make two accounts.
--
-- This file only makes the table below. The data step in Go
-- (store/emailkeys.go, found by this migration's name) then re-keys every
-- account, pending link and sign-in flow in the same transaction. An
-- account that cannot have its canonical key — another account has it
-- (two spellings of one address), or the address itself is refused now —
-- keeps its row, address, credentials and sessions; its email_key becomes
-- 'unkeyed:' || id, which no typed address can produce, and it is listed
-- here for the operator (keyshift admin email-keys).
CREATE TABLE email_key_conflicts (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The address and key as they were before this migration.
    email         TEXT NOT NULL,
    old_key       TEXT NOT NULL,
    -- The key the address has now; '' when it is refused.
    canonical_key TEXT NOT NULL,
    -- 'duplicate', or NormalizeEmail's reason for refusing the address
    -- (invisible_character, lookalike_character, malformed, …).
    reason        TEXT NOT NULL,
    -- For a duplicate: the account that holds canonical_key.
    kept_by       TEXT NOT NULL DEFAULT '',
    found_at      INTEGER NOT NULL
);
