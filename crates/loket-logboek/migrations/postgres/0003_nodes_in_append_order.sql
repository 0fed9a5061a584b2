-- Tree nodes kept in the order they are made instead of level by level (see the SQLite
-- migration of the same number): keyed by (level, idx) each level's new node dirtied a
-- page of its own in the key's index at every commit; keyed by (upto, level), where
-- upto = (idx + 1) << level is one past the last leaf the node covers, a commit's new
-- nodes are neighbours in the index as they already were in the table.
CREATE TABLE nodes_in_append_order (
    upto BIGINT NOT NULL,
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    CONSTRAINT nodes_upto_level PRIMARY KEY (upto, level)
);
INSERT INTO nodes_in_append_order (upto, level, idx, hash)
    SELECT (idx + 1) << level::int, level, idx, hash FROM nodes ORDER BY 1, 2;
DROP TABLE nodes;
ALTER TABLE nodes_in_append_order RENAME TO nodes;
