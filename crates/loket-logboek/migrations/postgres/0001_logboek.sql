-- See the SQLite migration for the design; same tables, Postgres types.
CREATE TABLE records (
    idx BIGINT PRIMARY KEY,
    bucket BIGINT NOT NULL,
    trace_id TEXT,
    subject TEXT,
    activity TEXT,
    start_ms BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    body TEXT,
    body_digest BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL
);
CREATE INDEX records_subject ON records (bucket, subject, idx) WHERE subject IS NOT NULL;
CREATE INDEX records_trace ON records (bucket, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX records_expiry ON records (expires_at) WHERE body IS NOT NULL;

CREATE TABLE nodes (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE tree_heads (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    signed_at_ms BIGINT NOT NULL,
    signature BYTEA NOT NULL
);
