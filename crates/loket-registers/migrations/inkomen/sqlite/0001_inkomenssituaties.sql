-- One JSON document per item, under the register's own key, findable by BSN.
CREATE TABLE inkomenssituaties (
    sleutel TEXT PRIMARY KEY,
    bsn TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX inkomenssituaties_bsn ON inkomenssituaties (bsn);

-- The change feed: numbered without gaps (rowid = max + 1; nothing is ever deleted).
CREATE TABLE mutaties (
    volgnummer INTEGER PRIMARY KEY,
    tijdstip TEXT NOT NULL,
    soort TEXT NOT NULL,
    sleutel TEXT NOT NULL,
    bsn TEXT
);
