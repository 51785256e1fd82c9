-- The subject the rollout's percentage ramp places a member by
-- (docs/rollout.md, "The ramp"). An account made from an address (a
-- sign-up, or the first email sign-in of an unknown address) keeps the
-- subject its address had as a visitor, so the visitor offered a passkey
-- sign-up is the member allowed to add the passkey. It is a digest of the
-- address, never the address, and an email change does not move it.
-- NULL: placed by the account's id (accounts made before this column, and
-- imported ones).
ALTER TABLE users ADD COLUMN ramp_subject TEXT;
