-- One row per person: the search keys as columns (lowercased where searches are
-- case-insensitive), the whole record as a JSON document.
CREATE TABLE personen (
    bsn TEXT PRIMARY KEY,
    geslachtsnaam TEXT NOT NULL,
    geboortedatum TEXT NOT NULL,
    postcode TEXT,
    huisnummer INTEGER,
    gemeentecode TEXT NOT NULL,
    overleden INTEGER NOT NULL,
    document TEXT NOT NULL
);

CREATE INDEX personen_naam_geboorte ON personen (geslachtsnaam, geboortedatum);
CREATE INDEX personen_adres ON personen (postcode, huisnummer);
CREATE INDEX personen_gemeente_naam ON personen (gemeentecode, geslachtsnaam);
