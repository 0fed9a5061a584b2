-- Staff accounts (argon2id password hashes), their sessions (only a hash of each session
-- token is kept) and the sign-in audit trail. Moments are Unix milliseconds.
CREATE TABLE medewerkers (
    id TEXT PRIMARY KEY,
    naam TEXT NOT NULL,
    wachtwoord TEXT NOT NULL,
    rollen TEXT NOT NULL,
    actief INTEGER NOT NULL DEFAULT 1,
    mislukte_pogingen INTEGER NOT NULL DEFAULT 0,
    geblokkeerd_tot_ms INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessies (
    token_hash TEXT PRIMARY KEY,
    medewerker TEXT REFERENCES medewerkers (id),
    csrf TEXT NOT NULL,
    aangemaakt_ms INTEGER NOT NULL,
    laatst_ms INTEGER NOT NULL
);
CREATE INDEX sessies_medewerker ON sessies (medewerker);

CREATE TABLE inlog_audit (
    id INTEGER PRIMARY KEY,
    medewerker TEXT NOT NULL,
    actie TEXT NOT NULL,
    gezet_ms INTEGER NOT NULL
);
