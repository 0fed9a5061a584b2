-- One row per (owner, key): the first submit claims it, the finished response is kept so
-- that a repeated submit gets the same answer instead of a second case.
CREATE TABLE idempotency (
    owner TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    response_status SMALLINT,
    response_location TEXT,
    response_body BYTEA,
    PRIMARY KEY (owner, idempotency_key)
);

CREATE INDEX idempotency_claimed_at ON idempotency (claimed_at);
