//! The contracts an organisation has seen validly revoked, kept in its own storage. A
//! revocation is a document in the shared directory, which others can write to: one
//! that disappears from there must not bring its contract back, not even after a
//! restart.

use std::collections::HashSet;

use loket_store::sqlx;
use loket_store::{Database, StoreError};

#[derive(Debug, Clone)]
pub(crate) struct SeenRevocations {
    database: Database,
}

impl SeenRevocations {
    pub(crate) fn new(database: &Database) -> Self {
        Self {
            database: database.clone(),
        }
    }

    /// Every contract hash seen revoked.
    pub(crate) async fn all(&self) -> Result<HashSet<String>, StoreError> {
        const SELECT: &str = "SELECT contract_hash FROM seen_revocations";
        let hashes: Vec<String> = match &self.database {
            Database::Sqlite(pool) => sqlx::query_scalar(SELECT).fetch_all(pool).await?,
            Database::Postgres(pool) => sqlx::query_scalar(SELECT).fetch_all(pool).await?,
        };
        Ok(hashes.into_iter().collect())
    }

    /// Remember these contracts as revoked (again: nothing changes for one already kept).
    pub(crate) async fn add(&self, hashes: &[String], at_ms: i64) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO seen_revocations (contract_hash, seen_at_ms) VALUES ";
        const CONFLICT: &str = " ON CONFLICT (contract_hash) DO NOTHING";
        match &self.database {
            Database::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for hash in hashes {
                    sqlx::query(&format!("{INSERT}(?, ?){CONFLICT}"))
                        .bind(hash)
                        .bind(at_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for hash in hashes {
                    sqlx::query(&format!("{INSERT}($1, $2){CONFLICT}"))
                        .bind(hash)
                        .bind(at_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
