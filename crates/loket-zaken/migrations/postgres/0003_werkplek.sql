-- What the employee workspace adds: a role can name an employee instead of a resident,
-- notes on a case, and the audit trail of every action on a case (who, what, when).
ALTER TABLE rollen ADD COLUMN medewerker TEXT;

CREATE TABLE notities (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zaak_seq BIGINT NOT NULL REFERENCES zaken (seq),
    auteur TEXT NOT NULL,
    tekst TEXT NOT NULL,
    gezet_ms BIGINT NOT NULL
);
CREATE INDEX notities_zaak ON notities (zaak_seq, id);

CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zaak_seq BIGINT REFERENCES zaken (seq),
    actor TEXT NOT NULL,
    actie TEXT NOT NULL,
    toelichting TEXT NOT NULL,
    gezet_ms BIGINT NOT NULL
);
CREATE INDEX audit_zaak ON audit (zaak_seq, id);

-- The work queue: open cases by deadline.
CREATE INDEX zaken_open ON zaken (einddatum, einddatum_gepland);
