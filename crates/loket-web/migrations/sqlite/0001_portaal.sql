-- Residents' sessions in the portal. The cookie's token is known only by its SHA-256;
-- who is signed in (BSN and name) is kept encrypted under the portal's key, and found
-- again only through a keyed pseudonym (to end all of a resident's sessions at once).
-- Moments are Unix milliseconds.
CREATE TABLE sessies (
    token_hash TEXT PRIMARY KEY,
    inwoner TEXT,
    gegevens TEXT,
    niveau TEXT,
    csrf TEXT NOT NULL,
    aangemaakt_ms INTEGER NOT NULL,
    laatst_ms INTEGER NOT NULL
);
CREATE INDEX sessies_inwoner ON sessies (inwoner);
