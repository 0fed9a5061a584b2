-- The BSN becomes the table's own integer key (SQLite's rowid): a lookup by BSN then
-- reads one B-tree instead of the key's index and then the table. A BSN is nine digits,
-- so the numbers sort as the texts did; the document keeps the BSN as written.
CREATE TABLE personen_op_bsn (
    bsn INTEGER PRIMARY KEY,
    geslachtsnaam TEXT NOT NULL,
    geboortedatum TEXT NOT NULL,
    postcode TEXT,
    huisnummer INTEGER,
    gemeentecode TEXT NOT NULL,
    overleden INTEGER NOT NULL,
    document TEXT NOT NULL
);
INSERT INTO personen_op_bsn
    SELECT CAST(bsn AS INTEGER), geslachtsnaam, geboortedatum, postcode, huisnummer,
           gemeentecode, overleden, document
    FROM personen ORDER BY bsn;
DROP TABLE personen;
ALTER TABLE personen_op_bsn RENAME TO personen;
CREATE INDEX personen_naam_geboorte ON personen (geslachtsnaam, geboortedatum);
CREATE INDEX personen_adres ON personen (postcode, huisnummer);
CREATE INDEX personen_gemeente_naam ON personen (gemeentecode, geslachtsnaam);
