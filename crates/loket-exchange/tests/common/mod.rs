//! What the exchange's integration tests share.

use std::path::Path;
use std::sync::Arc;

use loket_core::SystemClock;
use loket_logboek::{Activities, LogKeys, Logboek, log_store};
use loket_store::{Database, StorageUrl, sqlx};

/// The municipality's own register of processing activities.
pub(crate) const ACTIVITIES: &str = include_str!("../../../../config/verwerkingsactiviteiten.toml");

/// An organisation's processing log on `url`, named `component`, its keys in `keys`.
pub(crate) async fn log(
    url: &StorageUrl,
    component: &'static str,
    keys: &Path,
) -> (Logboek, Database) {
    let database = Database::open(url, &loket_logboek::schema(component))
        .await
        .unwrap();
    let log = Logboek::start(
        component,
        log_store(&database),
        LogKeys::load_or_create(keys, component).unwrap(),
        Arc::new(Activities::parse(ACTIVITIES, "test").unwrap()),
        Arc::new(SystemClock),
        loket_logboek::HEAD_INTERVAL,
    )
    .await
    .unwrap();
    (log, database)
}

/// Write a document straight into the directory's database, past every manager (as
/// whoever can write that database could).
pub(crate) async fn put_document(database: &Database, kind: &str, key: &str, body: &str) {
    let sql = "INSERT INTO documents (kind, key, body) VALUES ($1, $2, $3) \
               ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body";
    match database {
        Database::Sqlite(pool) => {
            let sql = sql.replace('$', "?");
            let query = sqlx::query(&sql).bind(kind).bind(key).bind(body);
            query.execute(pool).await.unwrap();
        }
        Database::Postgres(pool) => {
            let query = sqlx::query(sql).bind(kind).bind(key).bind(body);
            query.execute(pool).await.unwrap();
        }
    }
}

/// A plain HTTP server for `router`; its address.
pub(crate) async fn serve_plain(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(loket_http::serve(listener, router, std::future::pending()));
    url
}
