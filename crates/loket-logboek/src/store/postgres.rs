use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use loket_store::StoreError;
use loket_store::sqlx::{self, PgPool, Postgres, QueryBuilder};

use super::shared::log_store_impl;
use super::{
    Batch, ENTRY_COLUMNS, EntryRow, Filter, HeadRow, LOOKUP_TABLES, LogStore, LookupKeys,
    LookupRows, bucket, bucket_order, buckets, entry_from_row, head_from_row,
    index_bucket_statements, indexed_upto_statement, lookup_rows_statement, node_upto,
    prune_statements, scan_start, to_hash, to_i64, to_u64,
};
use crate::merkle::{Hash, NodeId};
use crate::record::Entry;
use crate::tree_head::SignedTreeHead;

/// Appends use the same pool as reads: Postgres keeps one shared buffer cache, so they
/// need no connection of their own.
#[derive(Debug)]
pub(crate) struct PostgresLog {
    pool: PgPool,
}

impl PostgresLog {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn append_batch(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_entries(&mut tx, &batch.entries).await?;
        insert_nodes(&mut tx, &batch.nodes).await?;
        if let Some(head) = &batch.head {
            sqlx::query(
                "INSERT INTO tree_heads (size, root, signed_at_ms, signature) VALUES ($1, $2, $3, $4)",
            )
            .bind(to_i64(head.size))
            .bind(&head.root[..])
            .bind(head.signed_at_ms)
            .bind(&head.signature)
            .execute(&mut *tx)
            .await?;
        }
        for (table, column, list) in [
            ("subject_index", "subject", &batch.index_subjects),
            ("trace_index", "trace_id", &batch.index_traces),
        ] {
            if list.is_empty() {
                continue;
            }
            // From the records themselves: one pruned since it was appended has no
            // subject or trace left to index.
            let indexes: Vec<i64> = list.iter().map(|idx| to_i64(*idx)).collect();
            sqlx::query(&format!(
                "INSERT INTO {table} (bucket, {column}, idx) SELECT bucket, {column}, idx \
                 FROM records WHERE {column} IS NOT NULL AND idx = ANY($1) \
                 ORDER BY {column}, idx ON CONFLICT DO NOTHING"
            ))
            .bind(indexes)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(upto) = batch.indexed_upto {
            mark_indexed(&mut tx, batch.indexed_from, upto).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// sqlx's Postgres connections belong to the runtime that opened them.
    const APPENDS_BLOCKING: bool = false;

    async fn scan_records(&self, from: u64, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM records WHERE idx >= $1 ORDER BY idx LIMIT $2"
        ))
        .bind(scan_start(from))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(entry_from_row).collect()
    }

    async fn lookup_rows_of(&self, bucket: u64) -> Result<LookupRows, StoreError> {
        let mut rows = LookupRows::default();
        for (table, found) in LOOKUP_TABLES
            .into_iter()
            .zip([&mut rows.subjects, &mut rows.traces])
        {
            let read: Vec<(i64, String)> = sqlx::query_as(&lookup_rows_statement(table, "$1"))
                .bind(to_i64(bucket))
                .fetch_all(&self.pool)
                .await?;
            found.extend(read.into_iter().map(|(idx, key)| (to_u64(idx), key)));
        }
        Ok(rows)
    }

    fn append_batch_blocking(&self, _batch: &Batch) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(
            "a Postgres log appends asynchronously only".to_owned(),
        ))
    }

    /// Another backend fills the lookup tables on another core while the appends go on:
    /// at 10,000,000 records the pieces in the appends' commits held them to 38,869
    /// records/s (BENCHMARKS.md, the processing log).
    const INDEXES_BESIDE_APPENDS: bool = true;

    async fn index_whole_bucket(&self, from: u64, end: u64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        serialise_with_prunes(&mut tx).await?;
        for statement in index_bucket_statements("$1", "$2") {
            sqlx::query(&statement)
                .bind(to_i64(from))
                .bind(to_i64(end))
                .execute(&mut *tx)
                .await?;
        }
        mark_indexed(&mut tx, from, end).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Unused while [`Self::INDEXES_BESIDE_APPENDS`]; kept so the pieces path works on
    /// Postgres too.
    async fn bucket_order(&self, from: u64, end: u64) -> Result<(Vec<u64>, Vec<u64>), StoreError> {
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT idx, subject, trace_id FROM records WHERE idx >= $1 AND idx < $2",
        )
        .bind(to_i64(from))
        .bind(to_i64(end))
        .fetch_all(&self.pool)
        .await?;
        Ok(bucket_order(
            rows.into_iter()
                .map(|(idx, subject, trace)| (to_u64(idx), subject, trace))
                .collect(),
        ))
    }

    async fn prune_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        serialise_with_prunes(&mut tx).await?;
        let mut pruned = 0;
        for statement in prune_statements("$1", "$2") {
            pruned = sqlx::query(&statement)
                .bind(now)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(pruned)
    }
}

log_store_impl!(PostgresLog, Postgres);

/// Every record below `upto` is in the lookup tables, for a bucket that began at `from`.
async fn mark_indexed(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    from: u64,
    upto: u64,
) -> Result<(), StoreError> {
    sqlx::query(&indexed_upto_statement("$1", "$2"))
        .bind(to_i64(upto))
        .bind(to_i64(from))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Indexing a bucket and pruning take turns: a prune that ran beside an indexing
/// transaction would not see (and so not delete) the lookup rows that transaction adds
/// for a record it prunes, and the rows would keep a pruned subject findable.
async fn serialise_with_prunes(tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<(), StoreError> {
    // A key per log: each log is a schema of its own (loket-store's database.rs).
    sqlx::query("SELECT pg_advisory_xact_lock(7301, hashtext(current_schema()))")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

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
    let uptos: Vec<i64> = nodes.iter().map(|(id, _)| node_upto(*id)).collect();
    let hashes: Vec<Vec<u8>> = nodes.iter().map(|(_, hash)| hash.to_vec()).collect();
    sqlx::query(
        "INSERT INTO nodes (upto, level, idx, hash) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::bytea[])",
    )
    .bind(uptos)
    .bind(levels)
    .bind(indexes)
    .bind(hashes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
