-- The change feed: numbered without gaps by writers that lock the table (see feed.rs).
CREATE TABLE mutaties (
    volgnummer BIGINT PRIMARY KEY,
    tijdstip TIMESTAMPTZ NOT NULL,
    soort TEXT NOT NULL,
    sleutel TEXT NOT NULL,
    bsn TEXT
);
