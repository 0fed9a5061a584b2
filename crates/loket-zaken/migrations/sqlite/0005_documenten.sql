-- Files an applicant adds to an application (a lease statement), kept with the case in
-- the same transaction. The type is what the content showed, not what the sender said.
CREATE TABLE documenten (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zaak_seq INTEGER NOT NULL REFERENCES zaken (seq),
    naam TEXT NOT NULL,
    bestandsnaam TEXT NOT NULL,
    soort TEXT NOT NULL,
    grootte INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    inhoud BLOB NOT NULL,
    toegevoegd_ms INTEGER NOT NULL
);
CREATE INDEX documenten_zaak ON documenten (zaak_seq, id);
