//! What the exchange's integration tests share.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use loket_core::SystemClock;
use loket_exchange::InwayService;
use loket_logboek::{Activities, LogKeys, Logboek, log_store};
use loket_store::{Database, StorageUrl, sqlx};

/// The municipality's own register of processing activities.
pub(crate) const ACTIVITIES: &str = include_str!("../../../../config/verwerkingsactiviteiten.toml");
/// RvIG's own register (the demo's), and its activity for providing BRP data.
pub(crate) const RVIG_ACTIVITIES: &str =
    include_str!("../../../../config/verwerkingsactiviteiten-rvig.toml");
pub(crate) const RVIG_BRP: &str = "https://rvig.example/verwerkingen/verstrekking-brp";

/// The service `name` at `register`, provided under RvIG's own BRP activity.
pub(crate) fn provided_by_rvig(name: &str, register: String) -> HashMap<String, InwayService> {
    HashMap::from([(
        name.to_owned(),
        InwayService {
            register,
            activity: RVIG_BRP.to_owned(),
        },
    )])
}

/// An organisation's processing log on `url`, named `component`, its keys in `keys`, its
/// register of processing activities `register` (TOML).
pub(crate) async fn log(
    url: &StorageUrl,
    component: &'static str,
    keys: &Path,
    register: &str,
) -> (Logboek, Database) {
    let database = Database::open(url, &loket_logboek::schema(component))
        .await
        .unwrap();
    let log = Logboek::start(
        component,
        log_store(&database),
        LogKeys::load_or_create(keys, component).unwrap(),
        Arc::new(Activities::parse(register, "test").unwrap()),
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
