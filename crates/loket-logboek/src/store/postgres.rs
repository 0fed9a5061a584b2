use std::collections::HashMap;

use async_trait::async_trait;
use loket_store::StoreError;
use loket_store::sqlx::{self, PgPool, Postgres, QueryBuilder};

use super::shared::log_store_impl;
use super::{
    Batch, ENTRY_COLUMNS, EntryRow, Filter, HeadRow, LogStore, LookupKeys, bucket, buckets,
    entry_from_row, head_from_row, to_hash, to_i64, to_u64,
};
use crate::merkle::{Hash, NodeId};
use crate::record::Entry;
use crate::tree_head::SignedTreeHead;

#[derive(Debug)]
pub(crate) struct PostgresLog {
    pool: PgPool,
    /// The same pool: Postgres keeps one shared buffer cache, so appends need no
    /// connection of their own.
    writer: PgPool,
}

impl PostgresLog {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self {
            writer: pool.clone(),
            pool,
        }
    }
}

/// Rows per INSERT: 9 columns × 1000 stays far below Postgres's 65,535 bound parameters.
const CHUNK: usize = 1000;

log_store_impl!(PostgresLog, Postgres);

/// A batch's records in one statement of column arrays: the same SQL text every time
/// (prepared once), ten parameters instead of ten per row, and no 65,535-parameter limit.
async fn insert_entries(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    entries: &[Entry],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Entry) -> i64| entries.iter().map(f).collect::<Vec<i64>>();
    let text = |f: fn(&Entry) -> Option<&str>| {
        entries
            .iter()
            .map(|e| f(e).map(str::to_owned))
            .collect::<Vec<Option<String>>>()
    };
    let bytes = |f: fn(&Entry) -> &Hash| entries.iter().map(|e| f(e).to_vec()).collect::<Vec<_>>();
    sqlx::query(&format!(
        "INSERT INTO records (bucket, {ENTRY_COLUMNS}) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], \
         $6::int8[], $7::int8[], $8::text[], $9::bytea[], $10::bytea[])"
    ))
    .bind(column(|e| to_i64(bucket(e.index))))
    .bind(column(|e| to_i64(e.index)))
    .bind(text(|e| e.trace_id.as_deref()))
    .bind(text(|e| e.subject.as_deref()))
    .bind(text(|e| e.activity.as_deref()))
    .bind(column(|e| e.start_ms))
    .bind(column(|e| e.expires_at))
    .bind(text(|e| e.body.as_deref()))
    .bind(bytes(|e| &e.body_digest))
    .bind(bytes(|e| &e.leaf_hash))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A batch's new tree nodes, in one statement of column arrays.
async fn insert_nodes(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    nodes: &[(NodeId, Hash)],
) -> Result<(), StoreError> {
    if nodes.is_empty() {
        return Ok(());
    }
    let levels: Vec<i64> = nodes
        .iter()
        .map(|((level, _), _)| i64::from(*level))
        .collect();
    let indexes: Vec<i64> = nodes.iter().map(|((_, idx), _)| to_i64(*idx)).collect();
    let hashes: Vec<Vec<u8>> = nodes.iter().map(|(_, hash)| hash.to_vec()).collect();
    sqlx::query(
        "INSERT INTO nodes (level, idx, hash) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::bytea[])",
    )
    .bind(levels)
    .bind(indexes)
    .bind(hashes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
