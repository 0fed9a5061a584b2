//! A small migration runner: numbered SQL scripts per backend, applied in order in one
//! transaction each, with a checksum so that an edited migration is noticed.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Database, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

/// A component's storage: its name (the SQLite file name and the Postgres schema) and
/// its migrations for each backend.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub component: &'static str,
    pub sqlite: &'static [Migration],
    pub postgres: &'static [Migration],
}

impl Schema {
    pub(crate) fn component_name(&self) -> Result<&'static str, StoreError> {
        let name = self.component;
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
        if valid {
            Ok(name)
        } else {
            Err(StoreError::ComponentName(name))
        }
    }

    fn migrations_for(&self, database: &Database) -> &'static [Migration] {
        match database {
            Database::Sqlite(_) => self.sqlite,
            Database::Postgres(_) => self.postgres,
        }
    }
}

fn checksum(sql: &str) -> String {
    loket_core::hex::lower_hex(&Sha256::digest(sql.as_bytes()))
}

const CREATE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS loket_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)";

const CREATE_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS loket_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

pub(crate) async fn apply(database: &Database, schema: &Schema) -> Result<(), StoreError> {
    let component = schema.component_name()?;
    match database {
        Database::Sqlite(pool) => {
            // IMMEDIATE: it reads (which versions are applied) before it writes, and a
            // deferred transaction that read cannot wait for another writer to finish.
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query(CREATE_SQLITE).execute(&mut *tx).await?;
            let applied = applied_sqlite(&mut tx).await?;
            let pending = pending(schema, database, &applied)?;
            for migration in pending {
                sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO loket_migrations (version, description, checksum) VALUES (?, ?, ?)")
                    .bind(migration.version)
                    .bind(migration.description)
                    .bind(checksum(migration.sql))
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(
                    component,
                    version = migration.version,
                    migration = migration.description,
                    "applied migration"
                );
            }
            tx.commit().await?;
        }
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            // Two instances starting at once must not both migrate.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("loket_migrations:{component}"))
                .execute(&mut *tx)
                .await?;
            sqlx::query(CREATE_POSTGRES).execute(&mut *tx).await?;
            let rows = sqlx::query("SELECT version, checksum FROM loket_migrations")
                .fetch_all(&mut *tx)
                .await?;
            let applied = rows_to_map(&rows)?;
            for migration in pending(schema, database, &applied)? {
                sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO loket_migrations (version, description, checksum) VALUES ($1, $2, $3)")
                    .bind(migration.version)
                    .bind(migration.description)
                    .bind(checksum(migration.sql))
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(
                    component,
                    version = migration.version,
                    migration = migration.description,
                    "applied migration"
                );
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

async fn applied_sqlite(
    tx: &mut sqlx::SqliteConnection,
) -> Result<BTreeMap<i64, String>, StoreError> {
    let rows = sqlx::query("SELECT version, checksum FROM loket_migrations")
        .fetch_all(tx)
        .await?;
    rows_to_map(&rows)
}

fn rows_to_map<R: Row>(rows: &[R]) -> Result<BTreeMap<i64, String>, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64, _>("version")?,
                row.try_get::<String, _>("checksum")?,
            ))
        })
        .collect()
}

/// The migrations still to run, after checking the applied ones were not edited since.
fn pending(
    schema: &Schema,
    database: &Database,
    applied: &BTreeMap<i64, String>,
) -> Result<Vec<&'static Migration>, StoreError> {
    let known = schema.migrations_for(database);
    if let Some(version) = applied
        .keys()
        .find(|v| !known.iter().any(|m| m.version == **v))
    {
        return Err(StoreError::UnknownMigration {
            component: schema.component,
            version: *version,
        });
    }
    let mut todo = Vec::new();
    for migration in known {
        match applied.get(&migration.version) {
            Some(sum) if *sum == checksum(migration.sql) => {}
            Some(_) => {
                return Err(StoreError::MigrationChanged {
                    component: schema.component,
                    version: migration.version,
                });
            }
            None => todo.push(migration),
        }
    }
    todo.sort_by_key(|m| m.version);
    Ok(todo)
}

pub(crate) async fn check(database: &Database, schema: &Schema) -> Result<(), StoreError> {
    let versions: Vec<i64> = match database {
        Database::Sqlite(pool) => {
            sqlx::query_scalar("SELECT version FROM loket_migrations")
                .fetch_all(pool)
                .await?
        }
        Database::Postgres(pool) => {
            sqlx::query_scalar("SELECT version FROM loket_migrations")
                .fetch_all(pool)
                .await?
        }
    };
    let missing: Vec<i64> = schema
        .migrations_for(database)
        .iter()
        .map(|m| m.version)
        .filter(|v| !versions.contains(v))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::MigrationsPending {
            component: schema.component,
            missing,
        })
    }
}
