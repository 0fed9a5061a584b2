use std::sync::Arc;

use loket_store::sqlx::{self, PgPool, Postgres, QueryBuilder};
use loket_store::{PgReader, StoreError};

use super::pg_lookups::PgLookups;
use super::query::PersonFilter;
use super::record::PersonRecord;
use super::store::{
    NameCondition, POSTGRES_INDEXES, Parts, PersonStore, Row, bsn_key, decode, decode_matching,
    has_indexed_key,
};
use crate::common::feed::{self, NewMutatie};

#[derive(Debug, Clone)]
pub(super) struct PostgresPersonStore {
    pool: PgPool,
    /// Lookups by BSN (the register's every request): those that queue up go to the
    /// server as one statement, on connections without the pool's release ping.
    lookups: Arc<PgLookups>,
}

impl PostgresPersonStore {
    pub(super) fn new(pool: PgPool) -> Self {
        let connections = usize::try_from(pool.options().get_max_connections()).unwrap_or(4);
        let reader = Arc::new(PgReader::new(&pool, connections));
        Self {
            lookups: Arc::new(PgLookups::new(reader, connections)),
            pool,
        }
    }
}

/// Rows per INSERT statement: 8 columns × 500 rows stays well under Postgres's 65535 parameters.
const ROWS_PER_STATEMENT: usize = 500;

#[async_trait::async_trait]
impl PersonStore for PostgresPersonStore {
    async fn insert(&self, persons: &[PersonRecord]) -> Result<(), StoreError> {
        let rows = persons.iter().map(Row::of).collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO personen (bsn, geslachtsnaam, geboortedatum, postcode, huisnummer, gemeentecode, overleden, document) ",
            );
            insert.push_values(chunk, |mut values, row| {
                values
                    .push_bind(row.bsn)
                    .push_bind(&row.geslachtsnaam)
                    .push_bind(row.geboortedatum_value())
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
        // A BSN that is no number finds nobody.
        let keys: Vec<i64> = bsns.iter().filter_map(|bsn| bsn_key(bsn)).collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let documents = self.lookups.documents(keys).await?;
        documents.iter().map(|d| decode(d, parts)).collect()
    }

    async fn search(
        &self,
        filter: &PersonFilter,
        parts: Parts,
    ) -> Result<Vec<PersonRecord>, StoreError> {
        if !has_indexed_key(filter) {
            return Ok(Vec::new());
        }
        let mut select: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT document FROM personen WHERE TRUE");
        match filter.geslachtsnaam.as_ref().map(NameCondition::of) {
            Some(NameCondition::Equals(name)) => {
                select.push(" AND geslachtsnaam = ").push_bind(name);
            }
            Some(NameCondition::StartsWith(like)) => {
                // text_pattern_ops on the index makes this prefix LIKE an index range scan.
                select.push(" AND geslachtsnaam LIKE ").push_bind(like);
            }
            None => {}
        }
        if let Some(datum) = filter.geboortedatum {
            select.push(" AND geboortedatum = ").push_bind(datum.0);
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
            select.push(" AND NOT overleden");
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bsn) DO UPDATE SET \
             geslachtsnaam = excluded.geslachtsnaam, geboortedatum = excluded.geboortedatum, \
             postcode = excluded.postcode, huisnummer = excluded.huisnummer, \
             gemeentecode = excluded.gemeentecode, overleden = excluded.overleden, document = excluded.document",
        )
        .bind(row.bsn)
        .bind(&row.geslachtsnaam)
        .bind(row.geboortedatum_value())
        .bind(row.postcode)
        .bind(row.huisnummer)
        .bind(row.gemeentecode)
        .bind(row.overleden)
        .bind(&row.document)
        .execute(&mut *tx)
        .await?;
        feed::append_postgres(&mut tx, std::slice::from_ref(mutatie)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin_bulk_load(&self) -> Result<(), StoreError> {
        if self.count().await? > 0 {
            return Err(StoreError::Corrupt(
                "a bulk load needs an empty register".into(),
            ));
        }
        for (name, _) in POSTGRES_INDEXES {
            let drop = format!("DROP INDEX IF EXISTS {name}");
            sqlx::query(&drop).execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn finish_bulk_load(&self) -> Result<(), StoreError> {
        let statements: Vec<String> = POSTGRES_INDEXES
            .iter()
            .map(|(name, definition)| format!("CREATE INDEX IF NOT EXISTS {name} ON {definition}"))
            // Fresh statistics, or the planner guesses about a table that just grew from
            // nothing.
            .chain(std::iter::once("ANALYZE personen".to_owned()))
            .collect();
        loket_store::run_slow_postgres(&self.pool, &statements).await
    }
}
