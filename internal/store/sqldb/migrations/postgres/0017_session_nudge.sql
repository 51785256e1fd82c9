-- When the rollout's enrollment nudge was shown in a session (docs/rollout.md):
-- a session is nudged at most once, and /welcome/passkey knows whether the
-- browser came to it from a nudged sign-in. NULL: never nudged.
ALTER TABLE sessions ADD COLUMN nudged_at TIMESTAMPTZ;
