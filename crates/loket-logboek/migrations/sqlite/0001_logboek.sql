-- The processing log: one row per LDV record, in append order. `idx` is the leaf index
-- in the Merkle tree. A pruned record keeps idx, expires_at, body_digest and leaf_hash,
-- so the tree stays whole; only body, subject and trace go.
CREATE TABLE records (
    idx INTEGER PRIMARY KEY,
    -- idx >> 16: the lookup indexes lead with it, so new entries land in one small,
    -- cached region of each index instead of on a random page of a huge one.
    bucket INTEGER NOT NULL,
    trace_id TEXT,
    subject TEXT,
    activity TEXT,
    start_ms INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT,
    body_digest BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE INDEX records_subject ON records (bucket, subject, idx) WHERE subject IS NOT NULL;
CREATE INDEX records_trace ON records (bucket, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX records_expiry ON records (expires_at) WHERE body IS NOT NULL;

-- Perfect subtrees of level >= 1: node (level, i) covers leaves i*2^level .. (i+1)*2^level.
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Signed tree heads, one per committed batch.
CREATE TABLE tree_heads (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    signed_at_ms INTEGER NOT NULL,
    signature BLOB NOT NULL
);
