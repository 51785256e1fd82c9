-- Where each account came from: a password sign-up, the first email sign-in
-- of an unknown address, or an import. An import takes an existing account
-- with the same address for its legacy member only when the address was
-- proven or the account came from an import itself; an unverified sign-up
-- may be a squatter's (docs/security.md, T18).
ALTER TABLE users ADD COLUMN origin TEXT NOT NULL DEFAULT 'import'
    CHECK (origin IN ('signup', 'email', 'import'));

-- Accounts made before this column existed: every sign-up and first email
-- sign-in wrote a "signup" event naming its method; an import writes none.
UPDATE users SET origin = CASE
        WHEN EXISTS (SELECT 1 FROM events e WHERE e.user_id = users.id AND e.type = 'signup'
                     AND e.method IN ('email_link', 'email_code')) THEN 'email'
        ELSE 'signup'
    END
WHERE EXISTS (SELECT 1 FROM events e WHERE e.user_id = users.id AND e.type = 'signup');
