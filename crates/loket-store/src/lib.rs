//! Where each component keeps its data.
//!
//! One storage URL names the backend: `sqlite:DIR` gives every component its own SQLite
//! file in `DIR`; `postgres://…` gives every component its own schema in that database
//! (or point components at different databases). Each store crate defines a trait, a
//! SQLite and a Postgres implementation, and migrations per backend; this crate opens the
//! pool, applies the migrations and answers readiness.
//!
//! Architecture invariant: this crate knows no component's tables. It never reads or
//! writes anything but its own `loket_migrations` bookkeeping.

mod background;
mod database;
mod error;
mod migrate;
mod pg_reader;
mod sqlite_reader;
mod sqlite_writer;
mod url;

#[cfg(feature = "testing")]
pub mod testing;

pub use background::in_background;
pub use database::{Backend, Database, run_slow_postgres, run_slow_sqlite};
pub use error::StoreError;
pub use migrate::{Migration, Schema};
pub use pg_reader::{PgRead, PgReader};
pub use sqlite_reader::SqliteReader;
pub use sqlite_writer::{SqliteWriter, WriterSettings};
pub use url::{StorageUrl, StorageUrlError};

/// Re-exported for [`SqliteReader`]'s reads and [`SqliteWriter`]'s writes: the same
/// SQLite library sqlx links.
pub use rusqlite;
/// Re-exported so store crates use the same sqlx as the pools they are handed.
pub use sqlx;
