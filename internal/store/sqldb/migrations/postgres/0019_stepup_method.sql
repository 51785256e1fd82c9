-- How a session last proved its member present: stepped_up_method is the
-- proof its last step-up took (a passkey or the password), '' when none.
-- A stand-in for the 0019 of the recovery branch, which adds this same
-- column with more: when that lands, this file goes.
ALTER TABLE sessions ADD COLUMN stepped_up_method TEXT NOT NULL DEFAULT '';
