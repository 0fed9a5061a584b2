//! Pooled Postgres connections are not pinged while in steady use; one that sat idle is
//! checked before it is handed out, so a server that dropped it costs a reconnect, not a
//! failed request. The same for a `PgReader`'s own connections.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use loket_store::testing::TestStorage;
use loket_store::{Database, Schema, StorageUrl, sqlx};

const SCHEMA: Schema = Schema {
    component: "reconnect",
    sqlite: &[],
    postgres: &[],
};

#[tokio::test]
#[cfg_attr(
    not(loket_postgres),
    ignore = "set LOKET_TEST_POSTGRES_URL to run against PostgreSQL"
)]
async fn an_idle_connection_the_server_dropped_is_replaced_before_use() {
    let (storage, pool, database) = postgres().await;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);

    assert!(
        end_every_session(&database).await,
        "the pool held a connection to end"
    );

    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let two: i32 = sqlx::query_scalar("SELECT 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(two, 2);
    pool.close().await;
    storage.teardown().await;
}

/// Reads through a `PgReader` keep their connection only when they went well: after the
/// server ended every session, the next read (its connection idle for longer than the
/// ping interval) reconnects instead of failing, and a failed read does not leave its
/// connection for the next one.
#[tokio::test]
#[cfg_attr(
    not(loket_postgres),
    ignore = "set LOKET_TEST_POSTGRES_URL to run against PostgreSQL"
)]
async fn a_reader_replaces_connections_the_server_dropped_and_never_reuses_a_failed_one() {
    let (storage, pool, database) = postgres().await;
    let reader = loket_store::PgReader::new(&pool, 1);
    let first = backend_pid(&reader).await;
    assert_eq!(
        backend_pid(&reader).await,
        first,
        "a good read keeps its connection"
    );

    let mut read = reader.get().await.unwrap();
    let failed = sqlx::query_scalar::<_, i32>("SELECT no_such_column")
        .fetch_one(read.connection())
        .await;
    assert!(failed.is_err());
    drop(read);
    let after_failure = backend_pid(&reader).await;
    assert_ne!(
        after_failure, first,
        "a failed read's connection is not reused"
    );

    assert!(
        end_every_session(&database).await,
        "the reader held a connection to end"
    );

    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let reconnected = backend_pid(&reader).await;
    assert_ne!(
        reconnected, after_failure,
        "a new connection after the server ended the old one"
    );
    pool.close().await;
    storage.teardown().await;
}

/// A reader's connections keep the pool's settings (the component's schema) and plan a
/// statement once instead of on every run.
#[tokio::test]
#[cfg_attr(
    not(loket_postgres),
    ignore = "set LOKET_TEST_POSTGRES_URL to run against PostgreSQL"
)]
async fn a_reader_plans_its_statements_once_in_the_components_schema() {
    let (storage, pool, _) = postgres().await;
    let reader = loket_store::PgReader::new(&pool, 1);
    let mut read = reader.get().await.unwrap();
    let (plans, schema): (String, String) =
        sqlx::query_as("SELECT current_setting('plan_cache_mode'), current_schema()")
            .fetch_one(read.connection())
            .await
            .unwrap();
    read.done();
    assert_eq!(plans, "force_generic_plan");
    assert_eq!(schema, "reconnect");
    let pooled: String = sqlx::query_scalar("SELECT current_setting('plan_cache_mode')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        pooled, "auto",
        "the pool's own connections plan as Postgres decides"
    );
    pool.close().await;
    storage.teardown().await;
}

/// The server process behind the connection a read gets.
async fn backend_pid(reader: &loket_store::PgReader) -> i32 {
    let mut read = reader.get().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(read.connection())
        .await
        .unwrap();
    read.done();
    pid
}

/// A fresh Postgres database with the (empty) schema, its pool and its name.
async fn postgres() -> (TestStorage, sqlx::PgPool, String) {
    let storage = TestStorage::postgres().await.unwrap();
    let Database::Postgres(pool) = Database::open(&storage.url, &SCHEMA).await.unwrap() else {
        panic!("a Postgres URL opens a Postgres database");
    };
    let StorageUrl::Postgres(url) = &storage.url else {
        panic!("Postgres storage");
    };
    let database = url::Url::parse(url.expose()).unwrap().path()[1..].to_owned();
    (storage, pool, database)
}

/// The server ends every session of `database`, as a restart or failover would; true
/// when there was one to end.
async fn end_every_session(database: &str) -> bool {
    let admin = sqlx::PgPool::connect(&std::env::var("LOKET_TEST_POSTGRES_URL").unwrap())
        .await
        .unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_all(&admin)
    .await
    .unwrap();
    admin.close().await;
    !ended.is_empty()
}
