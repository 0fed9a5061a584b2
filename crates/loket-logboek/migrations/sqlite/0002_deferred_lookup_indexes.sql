-- The lookup indexes move out of `records` into tables of their own that the log's
-- writer fills one bucket (65,536 records) at a time, in key order, once the bucket is
-- complete. A record's subject and trace are random keys: indexed at append time, every
-- record dirtied a page of each index (two of the five or so pages a commit wrote);
-- written per complete bucket they land on fresh pages, full ones, each written once.
-- Records from `index_state.indexed_upto` on are not in these tables yet: the running
-- log keeps them in memory (log.rs, `Tail`) and rebuilds that from `records` at start.
CREATE TABLE subject_index (
    bucket INTEGER NOT NULL,
    subject TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (bucket, subject, idx)
) WITHOUT ROWID;
CREATE TABLE trace_index (
    bucket INTEGER NOT NULL,
    trace_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (bucket, trace_id, idx)
) WITHOUT ROWID;
CREATE TABLE index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
);
INSERT INTO subject_index (bucket, subject, idx)
    SELECT bucket, subject, idx FROM records WHERE subject IS NOT NULL ORDER BY bucket, subject, idx;
INSERT INTO trace_index (bucket, trace_id, idx)
    SELECT bucket, trace_id, idx FROM records WHERE trace_id IS NOT NULL ORDER BY bucket, trace_id, idx;
INSERT INTO index_state (id, indexed_upto) SELECT 1, COALESCE(MAX(idx) + 1, 0) FROM records;
DROP INDEX records_subject;
DROP INDEX records_trace;
