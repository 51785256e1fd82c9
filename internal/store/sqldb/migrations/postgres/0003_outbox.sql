-- The mail outbox. A mail is written here in the same transaction as the
-- change that caused it, then delivered by a worker (package mail). status:
-- queued (waiting or being sent), sent, failed (permanently; kept for
-- `keyshift admin mail`). A worker claims a row by moving due_at to the end
-- of its lease and setting lease to a fresh token; a crashed worker's rows
-- become due again when the lease runs out.
CREATE TABLE outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL DEFAULT '',
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    lease      TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    provider   TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    due_at     TIMESTAMPTZ NOT NULL,
    done_at    TIMESTAMPTZ
);
CREATE INDEX outbox_status_due ON outbox (status, due_at);
