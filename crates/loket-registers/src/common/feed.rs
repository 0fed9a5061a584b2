//! Change feeds: every register publishes its mutations (moved, died, document reported
//! stolen, …) as an ordered list with sequence numbers that have no gaps, so a reader can
//! resume where it stopped, also after a restart of either side.
//!
//! Gapless on both backends: SQLite has a single writer and gives a rowid of max + 1;
//! on Postgres a writer takes an exclusive lock on the table for the rest of its
//! transaction, so numbers are handed out one after another and a reader never sees
//! number n + 1 before n is committed. (A sequence would leave holes on rollback.)

use loket_store::sqlx::{self, PgConnection, SqliteConnection};
use loket_store::{Database, StoreError};
use serde::Serialize;
use time::OffsetDateTime;

/// A mutation as the feed publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mutatie {
    pub volgnummer: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub tijdstip: OffsetDateTime,
    /// What happened, e.g. `verhuisd`, `overleden`, `vermissingGemeld`.
    pub soort: String,
    /// The key of the changed item in this register (a BSN, a document number, a kenteken).
    pub sleutel: String,
    /// Whose data changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burgerservicenummer: Option<String>,
}

/// A mutation about to be recorded; the feed gives it its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMutatie {
    pub tijdstip: OffsetDateTime,
    pub soort: String,
    pub sleutel: String,
    pub burgerservicenummer: Option<String>,
}

impl NewMutatie {
    pub fn new(
        tijdstip: OffsetDateTime,
        soort: &str,
        sleutel: &str,
        burgerservicenummer: Option<&str>,
    ) -> Self {
        Self {
            tijdstip,
            soort: soort.to_owned(),
            sleutel: sleutel.to_owned(),
            burgerservicenummer: burgerservicenummer.map(str::to_owned),
        }
    }
}

/// The most a reader gets per page.
pub const MAX_PAGE: u32 = 1000;

/// A register's feed, in the register's own database.
#[derive(Debug, Clone)]
pub struct Feed {
    database: Database,
}

impl Feed {
    pub fn new(database: &Database) -> Self {
        Self {
            database: database.clone(),
        }
    }

    /// Record mutations on their own (the seed's history); a register that changes a
    /// record appends in the same transaction instead.
    pub async fn append(&self, mutaties: &[NewMutatie]) -> Result<(), StoreError> {
        match &self.database {
            Database::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                append_sqlite(&mut tx, mutaties).await?;
                tx.commit().await?;
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                append_postgres(&mut tx, mutaties).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Mutations numbered `vanaf` and up, at most `aantal`, in order.
    pub async fn since(&self, vanaf: u64, aantal: u32) -> Result<Vec<Mutatie>, StoreError> {
        let vanaf = i64::try_from(vanaf).unwrap_or(i64::MAX);
        let aantal = i64::from(aantal.min(MAX_PAGE));
        const SELECT: &str = "SELECT volgnummer, tijdstip, soort, sleutel, bsn FROM mutaties";
        let rows: Vec<RowTuple> = match &self.database {
            Database::Sqlite(pool) => {
                sqlx::query_as(&format!(
                    "{SELECT} WHERE volgnummer >= ?1 ORDER BY volgnummer LIMIT ?2"
                ))
                .bind(vanaf)
                .bind(aantal)
                .fetch_all(pool)
                .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_as(&format!(
                    "{SELECT} WHERE volgnummer >= $1 ORDER BY volgnummer LIMIT $2"
                ))
                .bind(vanaf)
                .bind(aantal)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows.into_iter().map(into_mutatie).collect())
    }

    /// The number of the last mutation, 0 when there is none.
    pub async fn last(&self) -> Result<u64, StoreError> {
        const SELECT: &str = "SELECT COALESCE(MAX(volgnummer), 0) FROM mutaties";
        let last: i64 = match &self.database {
            Database::Sqlite(pool) => sqlx::query_scalar(SELECT).fetch_one(pool).await?,
            Database::Postgres(pool) => sqlx::query_scalar(SELECT).fetch_one(pool).await?,
        };
        Ok(u64::try_from(last).unwrap_or_default())
    }
}

/// volgnummer, tijdstip, soort, sleutel, bsn
type RowTuple = (i64, OffsetDateTime, String, String, Option<String>);

fn into_mutatie((volgnummer, tijdstip, soort, sleutel, bsn): RowTuple) -> Mutatie {
    Mutatie {
        volgnummer: u64::try_from(volgnummer).unwrap_or_default(),
        tijdstip,
        soort,
        sleutel,
        burgerservicenummer: bsn,
    }
}

/// Append inside the caller's transaction (SQLite: the rowid is max + 1, never reused
/// because nothing is ever deleted from the feed).
pub(crate) async fn append_sqlite(
    tx: &mut SqliteConnection,
    mutaties: &[NewMutatie],
) -> Result<(), StoreError> {
    for mutatie in mutaties {
        sqlx::query("INSERT INTO mutaties (tijdstip, soort, sleutel, bsn) VALUES (?1, ?2, ?3, ?4)")
            .bind(mutatie.tijdstip)
            .bind(&mutatie.soort)
            .bind(&mutatie.sleutel)
            .bind(&mutatie.burgerservicenummer)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Append inside the caller's transaction; the lock is held until it commits.
pub(crate) async fn append_postgres(
    tx: &mut PgConnection,
    mutaties: &[NewMutatie],
) -> Result<(), StoreError> {
    if mutaties.is_empty() {
        return Ok(());
    }
    // EXCLUSIVE still lets readers read, but not a second writer in.
    sqlx::query("LOCK TABLE mutaties IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(volgnummer), 0) FROM mutaties")
        .fetch_one(&mut *tx)
        .await?;
    for (offset, mutatie) in (1i64..).zip(mutaties) {
        sqlx::query(
            "INSERT INTO mutaties (volgnummer, tijdstip, soort, sleutel, bsn) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(last + offset)
        .bind(mutatie.tijdstip)
        .bind(&mutatie.soort)
        .bind(&mutatie.sleutel)
        .bind(&mutatie.burgerservicenummer)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
