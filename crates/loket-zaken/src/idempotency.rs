//! Idempotency keys: a form carries a key; submitting it twice (a double click, a retry on
//! a bad connection) yields the first outcome again rather than a second application.

mod postgres;
mod sqlite;

use std::fmt;
use std::sync::Arc;

use loket_store::{Database, StoreError};
use time::OffsetDateTime;

pub use postgres::PostgresIdempotencyStore;
pub use sqlite::SqliteIdempotencyStore;

/// A client-chosen key: 8 to 64 characters of letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key is 8 to 64 letters, digits, '-' or '_'")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    pub fn parse(input: &str) -> Result<Self, IdempotencyKeyError> {
        let ok = (8..=64).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(IdempotencyKeyError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a finished request answered, kept to answer a repeat the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedResponse {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody used this key yet: go ahead, then `complete` or `release` it.
    Fresh,
    /// An earlier request with this key is still being handled.
    InProgress,
    /// An earlier request with this key finished with this response.
    Done(SavedResponse),
}

/// `owner` identifies whose key it is (a session or a pseudonym) and must never be a BSN.
#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync + fmt::Debug {
    async fn claim(
        &self,
        owner: &str,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError>;
    async fn complete(
        &self,
        owner: &str,
        key: &IdempotencyKey,
        response: &SavedResponse,
    ) -> Result<(), StoreError>;
    /// Give a claimed key back after a failure, so that the resident can try again.
    async fn release(&self, owner: &str, key: &IdempotencyKey) -> Result<(), StoreError>;
    /// Forget keys claimed before `cutoff`; returns how many were removed.
    async fn purge_claimed_before(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError>;
}

pub fn idempotency_store(database: &Database) -> Arc<dyn IdempotencyStore> {
    match database {
        Database::Sqlite(pool) => Arc::new(SqliteIdempotencyStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresIdempotencyStore::new(pool.clone())),
    }
}

fn saved_response(
    status: Option<i64>,
    location: Option<String>,
    body: Option<Vec<u8>>,
) -> Result<Claim, StoreError> {
    match status {
        None => Ok(Claim::InProgress),
        Some(status) => Ok(Claim::Done(SavedResponse {
            status: u16::try_from(status)
                .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
            location,
            body: body.unwrap_or_default(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_parsed() {
        assert!(IdempotencyKey::parse("0193f1a2-7c4e-7d1a").is_ok());
        assert!(IdempotencyKey::parse("short").is_err());
        assert!(IdempotencyKey::parse(&"a".repeat(65)).is_err());
        assert!(IdempotencyKey::parse("has space in it").is_err());
        assert!(IdempotencyKey::parse("quote'; DROP TABLE").is_err());
    }

    proptest::proptest! {
        /// Accepted exactly when 8 to 64 letters, digits, `-` or `_`, and kept as given;
        /// inputs near both length limits and with a stray character come up often.
        #[test]
        fn a_key_is_accepted_exactly_when_8_to_64_safe_characters(
            input in "[A-Za-z0-9_-]{0,70}|[A-Za-z0-9_ ;'é-]{6,12}",
        ) {
            let safe = input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let valid = (8..=64).contains(&input.len()) && safe;
            match IdempotencyKey::parse(&input) {
                Ok(key) => {
                    proptest::prop_assert!(valid, "{input:?}");
                    proptest::prop_assert_eq!(key.as_str(), input.as_str());
                }
                Err(_) => proptest::prop_assert!(!valid, "{input:?}"),
            }
        }

        #[test]
        fn parse_never_panics_and_accepted_keys_round_trip(input in "\\PC{0,80}") {
            if let Ok(key) = IdempotencyKey::parse(&input) {
                proptest::prop_assert_eq!(key.as_str(), input.as_str());
            }
        }
    }
}
