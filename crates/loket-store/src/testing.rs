//! The harness that runs one contract suite against both backends.
//!
//! Each test gets fresh storage: a temporary directory for SQLite, a new database for
//! PostgreSQL (created from `LOKET_TEST_POSTGRES_URL`, dropped after the test). The
//! Postgres half of a suite is compiled as `#[ignore]` unless that variable was set when
//! the tests were built, so a missing server shows up as "ignored", never as "passed".

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::StorageUrl;

pub const POSTGRES_ENV: &str = "LOKET_TEST_POSTGRES_URL";

#[derive(Debug)]
pub struct TestStorage {
    pub url: StorageUrl,
    _dir: Option<tempfile::TempDir>,
    postgres_database: Option<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TestStorageError {
    #[error("{POSTGRES_ENV} is not set")]
    NoPostgres,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Url(#[from] url::ParseError),
}

impl TestStorage {
    pub fn sqlite() -> Result<Self, TestStorageError> {
        let dir = tempfile::tempdir()?;
        Ok(Self {
            url: StorageUrl::SqliteDir(dir.path().to_path_buf()),
            _dir: Some(dir),
            postgres_database: None,
        })
    }

    /// A brand-new, empty PostgreSQL database on the server named by `LOKET_TEST_POSTGRES_URL`.
    pub async fn postgres() -> Result<Self, TestStorageError> {
        let admin_url = std::env::var(POSTGRES_ENV).map_err(|_| TestStorageError::NoPostgres)?;
        let mut url = url::Url::parse(&admin_url)?;
        let base = url.path().trim_start_matches('/').to_owned();
        let base = if base.is_empty() {
            "loket".to_owned()
        } else {
            base
        };
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        // Prefixed with the base database, so a CI run can drop what its tests left behind.
        let prefix: String = base.chars().take(40).collect();
        let name = format!("{prefix}_t_{}", &suffix[..16]);
        let mut admin = PgConnectOptions::from_str(&admin_url)?.connect().await?;
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await?;
        admin.close().await?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            url: StorageUrl::Postgres(loket_core::Secret::new(url.to_string())),
            _dir: None,
            postgres_database: Some((admin_url, name)),
        })
    }

    /// Drop the Postgres database; SQLite's directory goes when `self` is dropped.
    pub async fn teardown(self) {
        if let Some((admin_url, name)) = &self.postgres_database {
            let Ok(options) = PgConnectOptions::from_str(admin_url) else {
                return;
            };
            if let Ok(mut admin) = options.connect().await {
                let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                if let Err(error) = admin.execute(drop.as_str()).await {
                    eprintln!("could not drop test database {name}: {error}");
                }
                let _ = admin.close().await;
            }
        }
    }
}

/// Generate a test per backend for each contract test.
///
/// ```ignore
/// loket_store::contract_suite! {
///     open = open_store;            // async fn(&StorageUrl) -> YourStoreHandle
///     tests = [first_claim_wins, keys_are_per_owner];
/// }
/// ```
///
/// Each test is `async fn name(store: YourStoreHandle)`. The calling crate needs the
/// `loket_postgres` cfg from a build script (copy `crates/loket-store/build.rs`).
#[macro_export]
macro_rules! contract_suite {
    (open = $open:ident; tests = [$($test:ident),+ $(,)?];) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let storage = $crate::testing::TestStorage::sqlite().expect("temporary directory");
                    let store = super::$open(&storage.url).await;
                    super::$test(store).await;
                    storage.teardown().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(loket_postgres), ignore = "set LOKET_TEST_POSTGRES_URL to run against PostgreSQL")]
                async fn $test() {
                    let storage = $crate::testing::TestStorage::postgres().await.expect("fresh PostgreSQL database");
                    let store = super::$open(&storage.url).await;
                    super::$test(store).await;
                    storage.teardown().await;
                }
            )+
        }
    };
}
