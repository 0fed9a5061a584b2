-- What the organisation itself signed in the shared directory, and the certificates it
-- entered there. After a renewal with a new key it signs again only these (whoever can
-- write the shared directory could put anything there in its name).
CREATE TABLE own_signatures (
    peer_id TEXT NOT NULL,
    contract_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (peer_id, contract_hash, kind)
);

CREATE TABLE own_certificates (
    peer_id TEXT NOT NULL,
    -- x5t#S256: base64url SHA-256 of the DER certificate
    thumbprint TEXT NOT NULL,
    pem TEXT NOT NULL,
    PRIMARY KEY (peer_id, thumbprint)
);
