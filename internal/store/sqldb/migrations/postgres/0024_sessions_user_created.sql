-- A member's sessions by age: the cap on sessions per member (50) trims
-- the oldest at each sign-in past it, and the subquery that finds them
-- reads this index's first rows instead of sorting every session of the
-- member (docs/benchmarks.md, "Where the CPU of a sign-in goes"). It
-- serves every query by user_id too, so the old single-column index goes.
DROP INDEX sessions_user;
CREATE INDEX sessions_user_created ON sessions (user_id, created_at, id);
