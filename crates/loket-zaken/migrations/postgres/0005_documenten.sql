-- Files an applicant adds to an application (a lease statement), kept with the case in
-- the same transaction. The type is what the content showed, not what the sender said.
CREATE TABLE documenten (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zaak_seq BIGINT NOT NULL REFERENCES zaken (seq),
    naam TEXT NOT NULL,
    bestandsnaam TEXT NOT NULL,
    soort TEXT NOT NULL,
    grootte BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    inhoud BYTEA NOT NULL,
    toegevoegd_ms BIGINT NOT NULL
);
CREATE INDEX documenten_zaak ON documenten (zaak_seq, id);
