//! The store every register but the BRP uses: one JSON document per item, keyed by the
//! register's own key (document number, kenteken, …) and indexed by the BSN it is about.
//! Changing an item and recording the mutation in the feed happen in one transaction.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use loket_store::sqlx::{self, PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool};
use loket_store::{Database, SqliteReader, StoreError, run_slow_postgres, run_slow_sqlite};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::feed::{self, NewMutatie};

/// An item a register keeps.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + fmt::Debug + 'static {
    /// The table, as the register's first migration creates it.
    const TABLE: &'static str;
    /// The register's own key for this item.
    fn sleutel(&self) -> &str;
    /// The person the item is about.
    fn burgerservicenummer(&self) -> &str;
}

#[async_trait::async_trait]
pub trait RecordStore<R: Record>: Send + Sync + fmt::Debug {
    /// Add items (a batch in one transaction). An existing key is an error.
    async fn insert(&self, records: &[R]) -> Result<(), StoreError>;
    /// Add or replace one item and record what happened, atomically.
    async fn put(&self, record: &R, mutatie: &NewMutatie) -> Result<(), StoreError>;
    /// The items with these keys, in the order asked, each once.
    async fn by_key(&self, keys: &[String]) -> Result<Vec<R>, StoreError>;
    /// Everything about one person, ordered by key.
    async fn by_bsn(&self, bsn: &str) -> Result<Vec<R>, StoreError>;
    async fn count(&self) -> Result<u64, StoreError>;
    /// Before loading many items into an empty store: drop the BSN index (refused when
    /// the store is not empty).
    async fn begin_bulk_load(&self) -> Result<(), StoreError>;
    /// After a bulk load: build the BSN index again (safe to call twice).
    async fn finish_bulk_load(&self) -> Result<(), StoreError>;
}

pub fn record_store<R: Record>(database: &Database) -> Arc<dyn RecordStore<R>> {
    match database {
        Database::Sqlite(pool) => Arc::new(SqliteRecords::<R> {
            pool: pool.clone(),
            reader: SqliteReader::new(pool),
            record: PhantomData,
        }),
        Database::Postgres(pool) => Arc::new(PostgresRecords::<R> {
            pool: pool.clone(),
            record: PhantomData,
        }),
    }
}

/// Rows per INSERT: 3 columns × 2,000 stays under both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 2_000;

fn encode<R: Record>(record: &R) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode<R: Record>(document: &str) -> Result<R, StoreError> {
    serde_json::from_str(document)
        .map_err(|e| StoreError::Corrupt(format!("{} document: {e}", R::TABLE)))
}

fn in_requested_order<R: Record>(keys: &[String], mut found: Vec<R>) -> Vec<R> {
    let mut ordered = Vec::with_capacity(found.len());
    for key in keys {
        if let Some(index) = found.iter().position(|r| r.sleutel() == key) {
            ordered.push(found.swap_remove(index));
        }
    }
    ordered
}

/// Build indexes after a bulk load. The sort spills to a temporary file instead of memory
/// (connections otherwise keep temporary data in memory), so building an index over
/// millions of rows does not need memory in proportion to them.
pub(crate) async fn sqlite_build_indexes(
    pool: &SqlitePool,
    statements: &[String],
) -> Result<(), StoreError> {
    let with_temp_file: Vec<String> = std::iter::once("PRAGMA temp_store = FILE".to_owned())
        .chain(statements.iter().cloned())
        .collect();
    run_slow_sqlite(pool, &with_temp_file).await
}

/// The `document` column of the rows whose key is one of `keys` (at most a few dozen),
/// read on this thread: `select` ends in `IN`, the list is added here.
pub(crate) fn sqlite_documents<K: loket_store::rusqlite::ToSql>(
    reader: &SqliteReader,
    select: &str,
    keys: &[K],
) -> Result<Vec<String>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::with_capacity(select.len() + 3 * keys.len() + 3);
    sql.push_str(select);
    sql.push_str(" (");
    for i in 0..keys.len() {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
    }
    sql.push(')');
    read_documents(reader, &sql, loket_store::rusqlite::params_from_iter(keys))
}

/// The first column (`document`) of every row `select` gives, read on this thread.
fn read_documents(
    reader: &SqliteReader,
    select: &str,
    params: impl loket_store::rusqlite::Params,
) -> Result<Vec<String>, StoreError> {
    reader.read(|c| {
        let mut statement = c.prepare_cached(select)?;
        let documents = statement
            .query_map(params, |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(documents)
    })
}

fn not_empty() -> StoreError {
    StoreError::Corrupt("a bulk load needs an empty register".into())
}

struct SqliteRecords<R> {
    pool: SqlitePool,
    /// Lookups by key and by BSN, on the request's thread.
    reader: SqliteReader,
    record: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for SqliteRecords<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteRecords").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl<R: Record> RecordStore<R> for SqliteRecords<R> {
    async fn insert(&self, records: &[R]) -> Result<(), StoreError> {
        let rows = records
            .iter()
            .map(|r| Ok((r.sleutel(), r.burgerservicenummer(), encode(r)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "INSERT INTO {} (sleutel, bsn, document) ",
                R::TABLE
            ));
            insert.push_values(chunk, |mut values, (sleutel, bsn, document)| {
                values
                    .push_bind(*sleutel)
                    .push_bind(*bsn)
                    .push_bind(document);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn put(&self, record: &R, mutatie: &NewMutatie) -> Result<(), StoreError> {
        let document = encode(record)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO {} (sleutel, bsn, document) VALUES (?1, ?2, ?3) \
             ON CONFLICT (sleutel) DO UPDATE SET bsn = excluded.bsn, document = excluded.document",
            R::TABLE
        ))
        .bind(record.sleutel())
        .bind(record.burgerservicenummer())
        .bind(document)
        .execute(&mut *tx)
        .await?;
        feed::append_sqlite(&mut tx, std::slice::from_ref(mutatie)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn by_key(&self, keys: &[String]) -> Result<Vec<R>, StoreError> {
        let select = format!("SELECT document FROM {} WHERE sleutel IN", R::TABLE);
        let documents = sqlite_documents(&self.reader, &select, keys)?;
        let found = documents
            .iter()
            .map(|d| decode(d))
            .collect::<Result<_, _>>()?;
        Ok(in_requested_order(keys, found))
    }

    async fn by_bsn(&self, bsn: &str) -> Result<Vec<R>, StoreError> {
        let select = format!(
            "SELECT document FROM {} WHERE bsn = ?1 ORDER BY sleutel",
            R::TABLE
        );
        let documents = read_documents(&self.reader, &select, [bsn])?;
        documents.iter().map(|d| decode(d)).collect()
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", R::TABLE))
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn begin_bulk_load(&self) -> Result<(), StoreError> {
        if self.count().await? > 0 {
            return Err(not_empty());
        }
        sqlx::query(&format!("DROP INDEX IF EXISTS {}_bsn", R::TABLE))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn finish_bulk_load(&self) -> Result<(), StoreError> {
        sqlite_build_indexes(
            &self.pool,
            &[format!(
                "CREATE INDEX IF NOT EXISTS {0}_bsn ON {0} (bsn)",
                R::TABLE
            )],
        )
        .await
    }
}

struct PostgresRecords<R> {
    pool: PgPool,
    record: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for PostgresRecords<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresRecords").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl<R: Record> RecordStore<R> for PostgresRecords<R> {
    async fn insert(&self, records: &[R]) -> Result<(), StoreError> {
        let rows = records
            .iter()
            .map(|r| Ok((r.sleutel(), r.burgerservicenummer(), encode(r)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(format!(
                "INSERT INTO {} (sleutel, bsn, document) ",
                R::TABLE
            ));
            insert.push_values(chunk, |mut values, (sleutel, bsn, document)| {
                values
                    .push_bind(*sleutel)
                    .push_bind(*bsn)
                    .push_bind(document);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn put(&self, record: &R, mutatie: &NewMutatie) -> Result<(), StoreError> {
        let document = encode(record)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO {} (sleutel, bsn, document) VALUES ($1, $2, $3) \
             ON CONFLICT (sleutel) DO UPDATE SET bsn = excluded.bsn, document = excluded.document",
            R::TABLE
        ))
        .bind(record.sleutel())
        .bind(record.burgerservicenummer())
        .bind(document)
        .execute(&mut *tx)
        .await?;
        feed::append_postgres(&mut tx, std::slice::from_ref(mutatie)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn by_key(&self, keys: &[String]) -> Result<Vec<R>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let documents: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT document FROM {} WHERE sleutel = ANY($1)",
            R::TABLE
        ))
        .bind(keys)
        .fetch_all(&self.pool)
        .await?;
        let found = documents
            .iter()
            .map(|d| decode(d))
            .collect::<Result<_, _>>()?;
        Ok(in_requested_order(keys, found))
    }

    async fn by_bsn(&self, bsn: &str) -> Result<Vec<R>, StoreError> {
        let documents: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT document FROM {} WHERE bsn = $1 ORDER BY sleutel",
            R::TABLE
        ))
        .bind(bsn)
        .fetch_all(&self.pool)
        .await?;
        documents.iter().map(|d| decode(d)).collect()
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", R::TABLE))
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn begin_bulk_load(&self) -> Result<(), StoreError> {
        if self.count().await? > 0 {
            return Err(not_empty());
        }
        sqlx::query(&format!("DROP INDEX IF EXISTS {}_bsn", R::TABLE))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn finish_bulk_load(&self) -> Result<(), StoreError> {
        run_slow_postgres(
            &self.pool,
            &[
                format!("CREATE INDEX IF NOT EXISTS {0}_bsn ON {0} (bsn)", R::TABLE),
                format!("ANALYZE {}", R::TABLE),
            ],
        )
        .await
    }
}
