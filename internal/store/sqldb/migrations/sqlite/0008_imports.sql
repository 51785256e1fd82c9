-- Runs of `keyshift import`. A run's place in its file (the byte offset and
-- line just past the last committed batch) and its counts so far are written
-- in the same transaction as each batch, so `keyshift import --resume`
-- continues exactly where the last commit left off: no row twice, none lost.
-- The file is known by its size and SHA-256, not its name.
CREATE TABLE imports (
    id               TEXT PRIMARY KEY,
    file_name        TEXT NOT NULL,
    file_size        INTEGER NOT NULL,
    file_sha256      BLOB NOT NULL,
    format           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'done', 'abandoned')),
    committed_offset INTEGER NOT NULL DEFAULT 0,
    committed_line   INTEGER NOT NULL DEFAULT 0,
    counts           TEXT NOT NULL DEFAULT '{}',
    started_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX imports_file ON imports (file_sha256, file_size, started_at);
