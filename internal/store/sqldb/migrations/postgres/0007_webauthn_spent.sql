-- Passkey sign-in ceremonies are sealed into their flowId instead of
-- stored at begin; finishing one records its id here, in the transaction
-- that starts the session or records the refusal, and the primary key
-- refuses a second finish. The key leads with the expiry so the janitor
-- deletes a range from the front of the one index and no second index is
-- written per sign-in; the id is random and bound to its expiry inside
-- the seal, so (expires_at, id) is unique exactly when id is.
CREATE TABLE webauthn_spent (
    expires_at TIMESTAMPTZ NOT NULL,
    id         BYTEA NOT NULL,
    PRIMARY KEY (expires_at, id)
);

-- Sign-in ceremonies left in the table from before are never read again.
DELETE FROM webauthn_flows WHERE kind = 'login';
