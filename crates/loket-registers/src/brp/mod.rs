//! BRP Personen: the population register, with a subset of the Haal Centraal BRP
//! Personen API (`POST /haalcentraal/api/brp/personen`).

mod api;
mod fields;
mod openapi;
mod pg_lookups;
mod postgres;
mod query;
mod record;
mod render;
mod sqlite;
mod store;

pub use api::{API_VERSION, MUTATIES_PATH, PERSONEN_PATH, VERSIONED_PATH, service};
pub use openapi::document as openapi_document;
pub use query::{PersonFilter, PersonenQuery, QueryKind, TextMatch};
pub use record::{
    AdellijkeTitel, Adres, Datum, Geboorte, Geslacht, Naam, Overlijden, PersonRecord, Relative,
    Waarde,
};
pub use store::{Parts, PersonStore, person_store};

use loket_store::{Migration, Schema};

pub const SCHEMA: Schema = Schema {
    component: "brp",
    sqlite: &[
        Migration {
            version: 1,
            description: "personen",
            sql: include_str!("../../migrations/brp/sqlite/0001_personen.sql"),
        },
        Migration {
            version: 2,
            description: "mutaties",
            sql: include_str!("../../migrations/brp/sqlite/0002_mutaties.sql"),
        },
        Migration {
            version: 3,
            description: "bsn als sleutel",
            sql: include_str!("../../migrations/brp/sqlite/0003_bsn_als_sleutel.sql"),
        },
    ],
    postgres: &[
        Migration {
            version: 1,
            description: "personen",
            sql: include_str!("../../migrations/brp/postgres/0001_personen.sql"),
        },
        Migration {
            version: 2,
            description: "mutaties",
            sql: include_str!("../../migrations/brp/postgres/0002_mutaties.sql"),
        },
        Migration {
            version: 3,
            description: "bsn als getal",
            sql: include_str!("../../migrations/brp/postgres/0003_bsn_als_getal.sql"),
        },
    ],
};
