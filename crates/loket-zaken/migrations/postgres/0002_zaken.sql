-- Cases (zaken), their append-only statuses, roles and results. Dates are ISO text
-- (YYYY-MM-DD), moments are Unix milliseconds, JSON is text.
CREATE TABLE zaken (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    bronorganisatie TEXT NOT NULL,
    zaaktype TEXT NOT NULL,
    omschrijving TEXT NOT NULL,
    registratiedatum TEXT NOT NULL,
    startdatum TEXT NOT NULL,
    einddatum_gepland TEXT NOT NULL,
    uiterlijke_einddatum TEXT NOT NULL,
    einddatum TEXT,
    opschorting TEXT,
    zaakobject TEXT,
    status TEXT,
    status_count BIGINT NOT NULL DEFAULT 0,
    uitkomst TEXT,
    behandelaar TEXT,
    besluit TEXT,
    aangemaakt_ms BIGINT NOT NULL
);
CREATE INDEX zaken_object ON zaken (zaaktype, zaakobject, uitkomst);
CREATE INDEX zaken_queue ON zaken (uitkomst, einddatum_gepland);

CREATE TABLE statussen (
    uuid TEXT PRIMARY KEY,
    zaak_seq BIGINT NOT NULL REFERENCES zaken (seq),
    volgnummer BIGINT NOT NULL,
    statustype TEXT NOT NULL,
    gezet_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    toelichting TEXT NOT NULL,
    UNIQUE (zaak_seq, volgnummer)
);

CREATE TABLE rollen (
    uuid TEXT PRIMARY KEY,
    zaak_seq BIGINT NOT NULL REFERENCES zaken (seq),
    omschrijving_generiek TEXT NOT NULL,
    betrokkene_type TEXT NOT NULL,
    bsn TEXT,
    roltoelichting TEXT NOT NULL
);
CREATE INDEX rollen_zaak ON rollen (zaak_seq);
CREATE INDEX rollen_bsn ON rollen (bsn, zaak_seq);

CREATE TABLE resultaten (
    uuid TEXT PRIMARY KEY,
    zaak_seq BIGINT NOT NULL UNIQUE REFERENCES zaken (seq),
    resultaattype TEXT NOT NULL,
    toelichting TEXT NOT NULL
);
