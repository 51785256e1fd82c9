-- TEMPORARY stand-in for 0022 (another branch's migration), so that this
-- branch's migrations run 1, 2, 3… in tests. Drop this file when merging.
SELECT 1;
