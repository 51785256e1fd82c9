-- The rollout's telemetry (docs/telemetry.md): events written in the
-- transaction of what they describe, hourly counters folded from them by
-- one folder at a time, and the members active each day. No IP address and
-- no User-Agent: a browser family and an operating system at most. Unlike
-- the audit log these rows are pruned (`keyshift admin prune`).
CREATE TABLE telemetry_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Always 0 here: SQLite's writers take turns, so ids commit in order
    -- and the id alone places an event (PostgreSQL needs the transaction).
    txid        INTEGER NOT NULL DEFAULT 0,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    method      TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL DEFAULT '',
    code        TEXT NOT NULL DEFAULT '',
    phase       TEXT NOT NULL DEFAULT '',
    cohort      TEXT NOT NULL DEFAULT '',
    user_id     TEXT,
    has_passkey INTEGER NOT NULL DEFAULT 0 CHECK (has_passkey IN (0, 1)),
    client_ms   INTEGER NOT NULL DEFAULT 0,
    server_ms   INTEGER NOT NULL DEFAULT 0,
    provider    TEXT NOT NULL DEFAULT '',
    synced      INTEGER NOT NULL DEFAULT 0 CHECK (synced IN (0, 1)),
    browser     TEXT NOT NULL DEFAULT '',
    os          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX telemetry_events_at ON telemetry_events (at);

-- The folder's place and lease: one row. A folder takes the lease when it
-- is free or lapsed, and moves the cursor in the transaction that adds a
-- batch to the counters.
CREATE TABLE telemetry_fold (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    cursor_txid INTEGER NOT NULL DEFAULT 0,
    cursor_id   INTEGER NOT NULL DEFAULT 0,
    owner       TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    folded_at   INTEGER
);
INSERT INTO telemetry_fold (id) VALUES (1);

-- The counters. Every counter is kept twice: under its cohort and under
-- cohort '*' (every cohort), and cohort leads each key, so the figures of
-- all members or of one cohort read only their own rows. Hourly tables
-- give the hours at a range's ends, daily ones (UTC days) its whole days:
-- a range of weeks costs the same at ten million events as at ten thousand.
CREATE TABLE telemetry_counts (
    cohort  TEXT NOT NULL,
    hour    INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    method  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    code    TEXT NOT NULL,
    phase   TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (cohort, hour, kind, method, outcome, code, phase)
);
CREATE TABLE telemetry_counts_daily (
    cohort  TEXT NOT NULL,
    day     INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    method  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    code    TEXT NOT NULL,
    phase   TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (cohort, day, kind, method, outcome, code, phase)
);

-- Histograms of successful sign-ins' times: bucket is the upper bound in
-- milliseconds, clock "client" (the page's) or "server".
CREATE TABLE telemetry_durations (
    cohort TEXT NOT NULL,
    hour   INTEGER NOT NULL,
    method TEXT NOT NULL,
    clock  TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (cohort, hour, method, clock, bucket)
);
CREATE TABLE telemetry_durations_daily (
    cohort TEXT NOT NULL,
    day    INTEGER NOT NULL,
    method TEXT NOT NULL,
    clock  TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (cohort, day, method, clock, bucket)
);

-- Successful sign-ins by hour and method: the series over time.
CREATE TABLE telemetry_series (
    cohort TEXT NOT NULL,
    hour   INTEGER NOT NULL,
    method TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (cohort, hour, method)
);

-- Members active on a UTC day (signed in, signed up, added a passkey), with
-- their cohort and whether they held a passkey at their last activity that
-- day (last_at): the denominator of the enrollment rate per active member,
-- which counters cannot give (a member active every day of a month is one
-- member).
CREATE TABLE telemetry_active (
    day         INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    last_at     INTEGER NOT NULL,
    cohort      TEXT NOT NULL,
    has_passkey INTEGER NOT NULL CHECK (has_passkey IN (0, 1)),
    PRIMARY KEY (day, user_id)
);
CREATE INDEX telemetry_active_user ON telemetry_active (user_id, day);

-- Each member's last activity, cohort and passkey then: for a range that
-- reaches the last activity folded (the default, the last 30 days), the
-- members active in it are those whose last activity is in it.
CREATE TABLE telemetry_members (
    user_id     TEXT PRIMARY KEY,
    last_at     INTEGER NOT NULL,
    cohort      TEXT NOT NULL,
    has_passkey INTEGER NOT NULL CHECK (has_passkey IN (0, 1))
);
CREATE INDEX telemetry_members_last ON telemetry_members (last_at);

-- How many members had their last activity on each UTC day, by their
-- cohort and passkey then (kept by the folder as members' last activities
-- move): the members active in a range that reaches now are a sum over
-- at most its days, whatever the number of members.
CREATE TABLE telemetry_last_days (
    day         INTEGER NOT NULL,
    cohort      TEXT NOT NULL,
    has_passkey INTEGER NOT NULL CHECK (has_passkey IN (0, 1)),
    n           INTEGER NOT NULL,
    PRIMARY KEY (day, cohort, has_passkey)
);
