-- See the SQLite migration for the design; same tables, Postgres types.
CREATE TABLE subject_index (
    bucket BIGINT NOT NULL,
    subject TEXT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (bucket, subject, idx)
);
CREATE TABLE trace_index (
    bucket BIGINT NOT NULL,
    trace_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (bucket, trace_id, idx)
);
CREATE TABLE index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto BIGINT NOT NULL
);
INSERT INTO subject_index (bucket, subject, idx)
    SELECT bucket, subject, idx FROM records WHERE subject IS NOT NULL ORDER BY bucket, subject, idx;
INSERT INTO trace_index (bucket, trace_id, idx)
    SELECT bucket, trace_id, idx FROM records WHERE trace_id IS NOT NULL ORDER BY bucket, trace_id, idx;
INSERT INTO index_state (id, indexed_upto) SELECT 1, COALESCE(MAX(idx) + 1, 0) FROM records;
DROP INDEX records_subject;
DROP INDEX records_trace;
