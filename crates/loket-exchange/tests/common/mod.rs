//! What the exchange's integration tests share.

use loket_store::{Database, sqlx};

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
