-- The resident's Berichtenbox: letters about a case (the decision, "we received your
-- application"), written in the same transaction as what they report. A letter belongs
-- to the resident it is addressed to (the case's initiator) and to nobody else.
CREATE TABLE berichten (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    bsn TEXT NOT NULL,
    zaak_seq BIGINT REFERENCES zaken (seq),
    onderwerp_nl TEXT NOT NULL,
    onderwerp_en TEXT NOT NULL,
    tekst_nl TEXT NOT NULL,
    tekst_en TEXT NOT NULL,
    verzonden_ms BIGINT NOT NULL,
    gelezen_ms BIGINT
);
CREATE INDEX berichten_bsn ON berichten (bsn, id);

-- How a resident wants letters: only digitally, or also on paper.
CREATE TABLE kanaalvoorkeuren (
    bsn TEXT PRIMARY KEY,
    kanaal TEXT NOT NULL,
    gezet_ms BIGINT NOT NULL
);
