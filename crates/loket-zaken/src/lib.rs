//! The process layer.
//!
//! Architecture invariant: this crate never opens a register's store and never talks to a
//! register directly; register data reaches it only through the exchange (issue 4). Its
//! own data lives in its own database (component `zaken`).

pub mod apply;
pub mod berichten;
pub mod bijlage;
mod case_writer;
pub mod catalogue;
pub mod decision;
pub mod idempotency;
pub mod inwoner;
pub mod rules;
pub mod store;
pub mod termijn;
pub mod werk;
pub mod zaak;
pub mod zgw;
pub mod zgw_auth;

pub use store::{ZaakStore, zaak_store};

pub use idempotency::{Claim, IdempotencyKey, IdempotencyStore, SavedResponse};

use loket_store::{Migration, Schema};

/// The process layer's database and its migrations for each backend.
pub const SCHEMA: Schema = Schema {
    component: "zaken",
    sqlite: &[
        Migration {
            version: 1,
            description: "idempotency keys",
            sql: include_str!("../migrations/sqlite/0001_idempotency.sql"),
        },
        Migration {
            version: 2,
            description: "zaken, statussen, rollen, resultaten",
            sql: include_str!("../migrations/sqlite/0002_zaken.sql"),
        },
        Migration {
            version: 3,
            description: "employee roles, notes and the audit trail",
            sql: include_str!("../migrations/sqlite/0003_werkplek.sql"),
        },
        Migration {
            version: 4,
            description: "suspending and extending a case's term",
            sql: include_str!("../migrations/sqlite/0004_termijn.sql"),
        },
        Migration {
            version: 5,
            description: "attachments kept with their case",
            sql: include_str!("../migrations/sqlite/0005_documenten.sql"),
        },
        Migration {
            version: 6,
            description: "the resident's letters and channel preference",
            sql: include_str!("../migrations/sqlite/0006_berichten.sql"),
        },
    ],
    postgres: &[
        Migration {
            version: 1,
            description: "idempotency keys",
            sql: include_str!("../migrations/postgres/0001_idempotency.sql"),
        },
        Migration {
            version: 2,
            description: "zaken, statussen, rollen, resultaten",
            sql: include_str!("../migrations/postgres/0002_zaken.sql"),
        },
        Migration {
            version: 3,
            description: "employee roles, notes and the audit trail",
            sql: include_str!("../migrations/postgres/0003_werkplek.sql"),
        },
        Migration {
            version: 4,
            description: "suspending and extending a case's term",
            sql: include_str!("../migrations/postgres/0004_termijn.sql"),
        },
        Migration {
            version: 5,
            description: "attachments kept with their case",
            sql: include_str!("../migrations/postgres/0005_documenten.sql"),
        },
        Migration {
            version: 6,
            description: "the resident's letters and channel preference",
            sql: include_str!("../migrations/postgres/0006_berichten.sql"),
        },
    ],
};
