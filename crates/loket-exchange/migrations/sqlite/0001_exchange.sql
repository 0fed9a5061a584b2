-- The exchange's directory and contracts, as JSON documents: peers, services,
-- contracts (by content hash) and signatures (by contract, peer and kind). Small,
-- read whole at start and after every change; the policy is built in memory.
CREATE TABLE documents (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
