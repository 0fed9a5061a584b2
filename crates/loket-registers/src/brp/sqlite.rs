use std::sync::Arc;

use loket_store::sqlx::{self, QueryBuilder, Sqlite, SqlitePool};
use loket_store::{SqliteReader, StoreError};

use super::query::PersonFilter;
use super::record::PersonRecord;
use super::store::{
    NameCondition, Parts, PersonStore, Row, SQLITE_INDEXES, bsn_key, decode, decode_matching,
    has_indexed_key, in_requested_order,
};
use crate::common::feed::{self, NewMutatie};
use crate::common::records::sqlite_documents;

#[derive(Debug, Clone)]
pub(super) struct SqlitePersonStore {
    pool: SqlitePool,
    /// Lookups by BSN (the register's every request), on the request's thread.
    reader: Arc<SqliteReader>,
}

impl SqlitePersonStore {
    pub(super) fn new(pool: SqlitePool) -> Self {
        Self {
            reader: Arc::new(SqliteReader::new(&pool)),
            pool,
        }
    }
}

/// Rows per INSERT statement: 8 columns × 500 rows stays under SQLite's 32766 variables.
const ROWS_PER_STATEMENT: usize = 500;

#[async_trait::async_trait]
impl PersonStore for SqlitePersonStore {
    async fn insert(&self, persons: &[PersonRecord]) -> Result<(), StoreError> {
        let rows = persons.iter().map(Row::of).collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO personen (bsn, geslachtsnaam, geboortedatum, postcode, huisnummer, gemeentecode, overleden, document) ",
            );
            insert.push_values(chunk, |mut values, row| {
                values
                    .push_bind(row.bsn)
                    .push_bind(&row.geslachtsnaam)
                    .push_bind(&row.geboortedatum)
                    .push_bind(row.postcode)
                    .push_bind(row.huisnummer)
                    .push_bind(row.gemeentecode)
                    .push_bind(row.overleden)
                    .push_bind(&row.document);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn by_bsn(&self, bsns: &[String], parts: Parts) -> Result<Vec<PersonRecord>, StoreError> {
        // The table's integer key (migration 3); a BSN that is no number finds nobody.
        let keys: Vec<i64> = bsns.iter().filter_map(|bsn| bsn_key(bsn)).collect();
        let documents = sqlite_documents(
            &self.reader,
            "SELECT document FROM personen WHERE bsn IN",
            &keys,
        )?;
        let found = documents
            .iter()
            .map(|d| decode(d, parts))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(in_requested_order(bsns, found))
    }

    async fn search(
        &self,
        filter: &PersonFilter,
        parts: Parts,
    ) -> Result<Vec<PersonRecord>, StoreError> {
        if !has_indexed_key(filter) {
            return Ok(Vec::new());
        }
        let mut select: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT document FROM personen WHERE 1 = 1");
        match filter.geslachtsnaam.as_ref().map(NameCondition::of) {
            Some(NameCondition::Equals(name)) => {
                select.push(" AND geslachtsnaam = ").push_bind(name);
            }
            Some(NameCondition::StartsWith(like)) => {
                // A byte range on the lowercase column, so the index serves the prefix
                // (SQLite's LIKE would not use a BINARY index).
                let prefix = like.trim_end_matches('%').to_owned();
                let upper = format!("{prefix}\u{10FFFF}");
                select.push(" AND geslachtsnaam >= ").push_bind(prefix);
                select.push(" AND geslachtsnaam < ").push_bind(upper);
            }
            None => {}
        }
        if let Some(datum) = filter.geboortedatum {
            select.push(" AND geboortedatum = ").push_bind(datum.iso());
        }
        if let (Some(postcode), Some(huisnummer)) = (&filter.postcode, filter.huisnummer) {
            select.push(" AND postcode = ").push_bind(postcode.clone());
            select
                .push(" AND huisnummer = ")
                .push_bind(i64::from(huisnummer));
        }
        if let Some(gemeente) = &filter.gemeente_van_inschrijving {
            select
                .push(" AND gemeentecode = ")
                .push_bind(gemeente.clone());
        }
        if !filter.inclusief_overleden {
            select.push(" AND overleden = 0");
        }
        select.push(" ORDER BY bsn");
        let documents: Vec<String> = select.build_query_scalar().fetch_all(&self.pool).await?;
        decode_matching(&documents, filter, parts)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM personen")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn put(&self, person: &PersonRecord, mutatie: &NewMutatie) -> Result<(), StoreError> {
        let row = Row::of(person)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO personen (bsn, geslachtsnaam, geboortedatum, postcode, huisnummer, gemeentecode, overleden, document) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (bsn) DO UPDATE SET \
             geslachtsnaam = excluded.geslachtsnaam, geboortedatum = excluded.geboortedatum, \
             postcode = excluded.postcode, huisnummer = excluded.huisnummer, \
             gemeentecode = excluded.gemeentecode, overleden = excluded.overleden, document = excluded.document",
        )
        .bind(row.bsn)
        .bind(&row.geslachtsnaam)
        .bind(&row.geboortedatum)
        .bind(row.postcode)
        .bind(row.huisnummer)
        .bind(row.gemeentecode)
        .bind(row.overleden)
        .bind(&row.document)
        .execute(&mut *tx)
        .await?;
        feed::append_sqlite(&mut tx, std::slice::from_ref(mutatie)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin_bulk_load(&self) -> Result<(), StoreError> {
        if self.count().await? > 0 {
            return Err(StoreError::Corrupt(
                "a bulk load needs an empty register".into(),
            ));
        }
        for (name, _) in SQLITE_INDEXES {
            let drop = format!("DROP INDEX IF EXISTS {name}");
            sqlx::query(&drop).execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn finish_bulk_load(&self) -> Result<(), StoreError> {
        let statements: Vec<String> = SQLITE_INDEXES
            .iter()
            .map(|(name, definition)| format!("CREATE INDEX IF NOT EXISTS {name} ON {definition}"))
            .collect();
        crate::common::records::sqlite_build_indexes(&self.pool, &statements).await
    }
}
