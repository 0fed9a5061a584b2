//! The exchange's storage: JSON documents by kind and key, on SQLite or Postgres. The
//! directory and the contracts are small and change rarely; the request path never
//! reads them from here, it reads the in-memory policy built from them.

use loket_store::sqlx;
use loket_store::{Database, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone)]
pub(crate) struct Documents {
    database: Database,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Peer,
    Service,
    Contract,
    Signature,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Peer => "peer",
            Self::Service => "service",
            Self::Contract => "contract",
            Self::Signature => "signature",
        }
    }
}

/// One document to put, serialised.
#[derive(Debug)]
pub(crate) struct Write {
    kind: Kind,
    key: String,
    body: String,
}

impl Write {
    pub(crate) fn of<T: Serialize>(kind: Kind, key: &str, value: &T) -> Result<Self, StoreError> {
        let body =
            serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        Ok(Self {
            kind,
            key: key.to_owned(),
            body,
        })
    }
}

impl Documents {
    pub(crate) fn new(database: &Database) -> Self {
        Self {
            database: database.clone(),
        }
    }

    /// Insert or replace the document `kind`/`key`.
    pub(crate) async fn put<T: Serialize>(
        &self,
        kind: Kind,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        self.put_all(&[Write::of(kind, key, value)?]).await
    }

    /// Insert or replace every document of `writes`, all or none (one transaction): a
    /// service's entry, its contract and the signature on it land together.
    pub(crate) async fn put_all(&self, writes: &[Write]) -> Result<(), StoreError> {
        const UPSERT: &str = "INSERT INTO documents (kind, key, body) VALUES ($1, $2, $3) \
                              ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body";
        match &self.database {
            Database::Sqlite(pool) => {
                let sql = UPSERT.replace('$', "?");
                let mut transaction = pool.begin().await?;
                for write in writes {
                    sqlx::query(&sql)
                        .bind(write.kind.as_str())
                        .bind(&write.key)
                        .bind(&write.body)
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await?;
            }
            Database::Postgres(pool) => {
                let mut transaction = pool.begin().await?;
                for write in writes {
                    sqlx::query(UPSERT)
                        .bind(write.kind.as_str())
                        .bind(&write.key)
                        .bind(&write.body)
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await?;
            }
        }
        Ok(())
    }

    /// A number that every change to the documents raises (by trigger, whoever makes
    /// it): the same number means the same documents.
    pub(crate) async fn revision(&self) -> Result<i64, StoreError> {
        const SELECT: &str = "SELECT revision FROM documents_revision WHERE id = 1";
        let revision = match &self.database {
            Database::Sqlite(pool) => sqlx::query_scalar(SELECT).fetch_one(pool).await?,
            Database::Postgres(pool) => sqlx::query_scalar(SELECT).fetch_one(pool).await?,
        };
        Ok(revision)
    }

    /// Every document of a kind, keyed.
    pub(crate) async fn map<T: DeserializeOwned>(
        &self,
        kind: Kind,
    ) -> Result<std::collections::HashMap<String, T>, StoreError> {
        Ok(self.list(kind).await?.into_iter().collect())
    }

    /// Every document of a kind, by key.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        kind: Kind,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let rows: Vec<(String, String)> = match &self.database {
            Database::Sqlite(pool) => {
                sqlx::query_as("SELECT key, body FROM documents WHERE kind = ? ORDER BY key")
                    .bind(kind.as_str())
                    .fetch_all(pool)
                    .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_as("SELECT key, body FROM documents WHERE kind = $1 ORDER BY key")
                    .bind(kind.as_str())
                    .fetch_all(pool)
                    .await?
            }
        };
        // One unreadable document (written behind the manager's back) is passed over: were
        // it to fail the whole list, the policy could not be built again, and no later
        // revocation or expiry would take effect.
        Ok(rows
            .into_iter()
            .filter_map(|(key, body)| match serde_json::from_str(&body) {
                Ok(value) => Some((key, value)),
                Err(error) => {
                    tracing::warn!(kind = kind.as_str(), %key, %error, "an unreadable document is passed over");
                    None
                }
            })
            .collect())
    }
}
