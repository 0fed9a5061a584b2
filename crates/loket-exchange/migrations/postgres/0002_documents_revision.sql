-- A counter that every change to `documents` raises, by trigger, so no writer (this
-- process, a `loket exchange` command in another, an operator with SQL) can forget it.
-- The manager's periodic check reads this one row and rebuilds the policy (every
-- document parsed, every signature verified) only when it moved: rebuilding every two
-- seconds held up an async worker for 2-3 ms each time (BENCHMARKS.md, the exchange).
CREATE TABLE documents_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO documents_revision (id, revision) VALUES (1, 0);
CREATE FUNCTION documents_changed() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE documents_revision SET revision = revision + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER documents_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON documents
    FOR EACH STATEMENT EXECUTE FUNCTION documents_changed();
