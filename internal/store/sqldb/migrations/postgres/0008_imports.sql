-- Runs of `keyshift import`. A run's place in its file (the byte offset and
-- line just past the last committed batch) and its counts so far are written
-- in the same transaction as each batch, so `keyshift import --resume`
-- continues exactly where the last commit left off: no row twice, none lost.
-- The file is known by its size and SHA-256, not its name.
CREATE TABLE imports (
    id               TEXT PRIMARY KEY,
    file_name        TEXT NOT NULL,
    file_size        BIGINT NOT NULL,
    file_sha256      BYTEA NOT NULL,
    format           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'done', 'abandoned')),
    committed_offset BIGINT NOT NULL DEFAULT 0,
    committed_line   BIGINT NOT NULL DEFAULT 0,
    counts           TEXT NOT NULL DEFAULT '{}',
    started_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
CREATE INDEX imports_file ON imports (file_sha256, file_size, started_at);
