-- A placeholder for migration 0010, which belongs to the sec-throttle branch:
-- migrations must run 1, 2, 3…, and this branch's 0011 needs a 0010 before it.
-- Delete this file when the two branches meet; it changes nothing.
SELECT 1;
