-- The contracts this organisation's exchange has seen validly revoked, in its own
-- storage (not the shared directory, which others can write to): a revocation removed
-- from the directory does not bring its contract back, not even after a restart.
CREATE TABLE seen_revocations (
    contract_hash TEXT PRIMARY KEY,
    seen_at_ms BIGINT NOT NULL
);
