-- The change feed: numbered without gaps (rowid = max + 1; nothing is ever deleted).
CREATE TABLE mutaties (
    volgnummer INTEGER PRIMARY KEY,
    tijdstip TEXT NOT NULL,
    soort TEXT NOT NULL,
    sleutel TEXT NOT NULL,
    bsn TEXT
);
