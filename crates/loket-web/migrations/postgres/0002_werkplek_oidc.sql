-- Sign-ins at the municipality's identity provider that have not come back yet: found by
-- the hash of their `state`, bound to the browser that started them by the hash of a
-- random cookie value, used once. Moments are Unix milliseconds.
CREATE TABLE oidc_inlog (
    state_hash TEXT PRIMARY KEY,
    binding_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    aangemaakt_ms BIGINT NOT NULL
);
