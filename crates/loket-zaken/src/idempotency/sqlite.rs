use loket_store::StoreError;
use loket_store::sqlx::{self, SqlitePool};
use time::OffsetDateTime;

use super::{Claim, IdempotencyKey, IdempotencyStore, SavedResponse, saved_response};

#[derive(Debug, Clone)]
pub struct SqliteIdempotencyStore {
    pool: SqlitePool,
}

impl SqliteIdempotencyStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn micros(moment: OffsetDateTime) -> i64 {
    i64::try_from(moment.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl IdempotencyStore for SqliteIdempotencyStore {
    async fn claim(
        &self,
        owner: &str,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency (owner, idempotency_key, claimed_at_us) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(owner)
        .bind(key.as_str())
        .bind(micros(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Fresh);
        }
        let row: Option<(Option<i64>, Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT response_status, response_location, response_body FROM idempotency WHERE owner = ? AND idempotency_key = ?",
        )
        .bind(owner)
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some((status, location, body)) => saved_response(status, location, body),
            // Released between our insert and our read: the next try will claim it.
            None => Ok(Claim::InProgress),
        }
    }

    async fn complete(
        &self,
        owner: &str,
        key: &IdempotencyKey,
        response: &SavedResponse,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency SET response_status = ?, response_location = ?, response_body = ? WHERE owner = ? AND idempotency_key = ?",
        )
        .bind(i64::from(response.status))
        .bind(response.location.as_deref())
        .bind(response.body.as_slice())
        .bind(owner)
        .bind(key.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release(&self, owner: &str, key: &IdempotencyKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency WHERE owner = ? AND idempotency_key = ? AND response_status IS NULL")
            .bind(owner)
            .bind(key.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_claimed_before(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        let removed = sqlx::query("DELETE FROM idempotency WHERE claimed_at_us < ?")
            .bind(micros(cutoff))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(removed)
    }
}
