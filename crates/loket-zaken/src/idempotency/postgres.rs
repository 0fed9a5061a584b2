use loket_store::StoreError;
use loket_store::sqlx::{self, PgPool};
use time::OffsetDateTime;

use super::{Claim, IdempotencyKey, IdempotencyStore, SavedResponse, saved_response};

#[derive(Debug, Clone)]
pub struct PostgresIdempotencyStore {
    pool: PgPool,
}

impl PostgresIdempotencyStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for PostgresIdempotencyStore {
    async fn claim(
        &self,
        owner: &str,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency (owner, idempotency_key, claimed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(owner)
        .bind(key.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Fresh);
        }
        let row: Option<(Option<i16>, Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT response_status, response_location, response_body FROM idempotency WHERE owner = $1 AND idempotency_key = $2",
        )
        .bind(owner)
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some((status, location, body)) => saved_response(status.map(i64::from), location, body),
            None => Ok(Claim::InProgress),
        }
    }

    async fn complete(
        &self,
        owner: &str,
        key: &IdempotencyKey,
        response: &SavedResponse,
    ) -> Result<(), StoreError> {
        let status = i16::try_from(response.status)
            .map_err(|_| StoreError::Corrupt(format!("status {}", response.status)))?;
        sqlx::query(
            "UPDATE idempotency SET response_status = $1, response_location = $2, response_body = $3 WHERE owner = $4 AND idempotency_key = $5",
        )
        .bind(status)
        .bind(response.location.as_deref())
        .bind(response.body.as_slice())
        .bind(owner)
        .bind(key.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release(&self, owner: &str, key: &IdempotencyKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency WHERE owner = $1 AND idempotency_key = $2 AND response_status IS NULL")
            .bind(owner)
            .bind(key.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_claimed_before(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        let removed = sqlx::query("DELETE FROM idempotency WHERE claimed_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(removed)
    }
}
