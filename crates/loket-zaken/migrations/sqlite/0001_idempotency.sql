-- One row per (owner, key): the first submit claims it, the finished response is kept so
-- that a repeated submit gets the same answer instead of a second case.
CREATE TABLE idempotency (
    owner TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    claimed_at_us INTEGER NOT NULL,
    response_status INTEGER,
    response_location TEXT,
    response_body BLOB,
    PRIMARY KEY (owner, idempotency_key)
) WITHOUT ROWID;

CREATE INDEX idempotency_claimed_at ON idempotency (claimed_at_us);
