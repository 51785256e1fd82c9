-- Atomic throttles, email sign-in budgets and counted failures (issues 18
-- and 20). Throttle keys themselves need no change: attempts are reserved
-- by one upsert on `throttles` before the work.

-- A start while the address's last mail is fresh answers the id of the
-- address's newest live flow.
CREATE INDEX email_flows_key_created ON email_flows (email_key, created_at);

-- Failures that no account can be tied to (unknown address, link, flow or
-- passkey), counted instead of appended to `events` one row each: one row
-- per minute, type, method, outcome, reason and IP subject (an IPv6
-- client's /64), upserted. The janitor deletes rows past their retention.
CREATE TABLE failure_counts (
    minute  INTEGER NOT NULL,
    type    TEXT NOT NULL,
    method  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason  TEXT NOT NULL,
    ip      TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (minute, type, method, outcome, reason, ip)
) WITHOUT ROWID;
