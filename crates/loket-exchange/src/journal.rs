//! What an organisation itself did in the shared directory, kept in its own storage: the
//! signatures it made and the certificates it entered. After a renewal with a new key it
//! signs again what it signed, and nothing else: whoever can write the shared directory
//! could put signatures there in its name, made with a key it no longer holds.

use loket_store::sqlx;
use loket_store::{Database, StoreError};

use crate::contract::SignatureKind;

#[derive(Debug, Clone)]
pub(crate) struct Journal {
    database: Database,
}

impl Journal {
    pub(crate) fn new(database: &Database) -> Self {
        Self {
            database: database.clone(),
        }
    }

    /// `peer` signed these contracts (again: nothing changes for one already kept).
    /// Returns how many were not kept before.
    pub(crate) async fn signed(
        &self,
        peer: &str,
        signatures: &[(String, SignatureKind)],
    ) -> Result<u64, StoreError> {
        const INSERT: &str = "INSERT INTO own_signatures (peer_id, contract_hash, kind) \
                              VALUES ($1, $2, $3) ON CONFLICT (peer_id, contract_hash, kind) DO NOTHING";
        if signatures.is_empty() {
            return Ok(0);
        }
        let mut noted = 0;
        match &self.database {
            Database::Sqlite(pool) => {
                let sql = INSERT.replace('$', "?");
                let mut tx = pool.begin().await?;
                for (hash, kind) in signatures {
                    noted += sqlx::query(&sql)
                        .bind(peer)
                        .bind(hash)
                        .bind(kind.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for (hash, kind) in signatures {
                    noted += sqlx::query(INSERT)
                        .bind(peer)
                        .bind(hash)
                        .bind(kind.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
            }
        }
        Ok(noted)
    }

    /// `peer`'s signature of `hash` did not reach the directory after all: not kept, so
    /// that a start does not sign again what the operator saw fail.
    pub(crate) async fn not_signed(
        &self,
        peer: &str,
        hash: &str,
        kind: SignatureKind,
    ) -> Result<(), StoreError> {
        const DELETE: &str =
            "DELETE FROM own_signatures WHERE peer_id = $1 AND contract_hash = $2 AND kind = $3";
        match &self.database {
            Database::Sqlite(pool) => {
                sqlx::query(&DELETE.replace('$', "?"))
                    .bind(peer)
                    .bind(hash)
                    .bind(kind.as_str())
                    .execute(pool)
                    .await?;
            }
            Database::Postgres(pool) => {
                sqlx::query(DELETE)
                    .bind(peer)
                    .bind(hash)
                    .bind(kind.as_str())
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Every contract `peer` signed, with how.
    pub(crate) async fn signatures(
        &self,
        peer: &str,
    ) -> Result<Vec<(String, SignatureKind)>, StoreError> {
        let rows = self
            .rows(
                "SELECT contract_hash, kind FROM own_signatures WHERE peer_id = $1 \
                 ORDER BY contract_hash, kind",
                peer,
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(hash, kind)| match kind.as_str() {
                "accept" => Some((hash, SignatureKind::Accept)),
                "revoke" => Some((hash, SignatureKind::Revoke)),
                _ => None,
            })
            .collect())
    }

    /// `peer` entered the certificate `pem` (whose `x5t#S256` is `thumbprint`).
    pub(crate) async fn entered(
        &self,
        peer: &str,
        thumbprint: &str,
        pem: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO own_certificates (peer_id, thumbprint, pem) VALUES ($1, $2, $3) \
             ON CONFLICT (peer_id, thumbprint) DO NOTHING",
            &[peer, thumbprint, pem],
        )
        .await
    }

    /// The certificates `peer` entered, by thumbprint.
    pub(crate) async fn certificates(
        &self,
        peer: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.rows(
            "SELECT thumbprint, pem FROM own_certificates WHERE peer_id = $1 ORDER BY thumbprint",
            peer,
        )
        .await
    }

    /// Forget every certificate `peer` entered but the one with `thumbprint`.
    pub(crate) async fn keep_only(&self, peer: &str, thumbprint: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM own_certificates WHERE peer_id = $1 AND thumbprint <> $2",
            &[peer, thumbprint],
        )
        .await
    }

    async fn execute(&self, sql: &str, binds: &[&str]) -> Result<(), StoreError> {
        match &self.database {
            Database::Sqlite(pool) => {
                let sql = sql.replace('$', "?");
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.execute(pool).await?;
            }
            Database::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.execute(pool).await?;
            }
        }
        Ok(())
    }

    async fn rows(&self, sql: &str, peer: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(match &self.database {
            Database::Sqlite(pool) => {
                sqlx::query_as(&sql.replace('$', "?"))
                    .bind(peer)
                    .fetch_all(pool)
                    .await?
            }
            Database::Postgres(pool) => sqlx::query_as(sql).bind(peer).fetch_all(pool).await?,
        })
    }
}
