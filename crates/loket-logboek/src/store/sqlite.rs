use std::collections::HashMap;

use async_trait::async_trait;
use loket_store::StoreError;
use loket_store::sqlx::sqlite::SqlitePoolOptions;
use loket_store::sqlx::{self, QueryBuilder, Sqlite, SqlitePool};

use super::shared::log_store_impl;
use super::{
    Batch, ENTRY_COLUMNS, EntryRow, Filter, HeadRow, LogStore, LookupKeys, bucket, buckets,
    entry_from_row, head_from_row, to_hash, to_i64, to_u64,
};
use crate::merkle::{Hash, NodeId};
use crate::record::Entry;
use crate::tree_head::SignedTreeHead;

#[derive(Debug)]
pub(crate) struct SqliteLog {
    pool: SqlitePool,
    /// Appends use one connection of their own: in WAL mode a connection that sees
    /// another's commit throws away its whole page cache, so alternating writers would
    /// read the tree's pages back from disk on every commit.
    writer: SqlitePool,
}

impl SqliteLog {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        // A larger WAL between checkpoints: a hot index page is then written back to the
        // database once per checkpoint instead of once per few commits. An 8 MiB page
        // cache, not more: at every commit SQLite walks the cache's whole hash table
        // (`pcache1TruncateUnsafe`), so a 128 MiB cache cost about 330 µs of CPU per
        // commit once the log outgrew it (BENCHMARKS.md, the processing log).
        let options = (*pool.connect_options())
            .clone()
            .pragma("wal_autocheckpoint", "16384")
            .pragma("cache_size", "-8192");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options);
        Self { pool, writer }
    }
}

/// Rows per INSERT: 9 columns × 1000 stays far below SQLite's 32,766 bound parameters.
const CHUNK: usize = 1000;

log_store_impl!(SqliteLog, Sqlite);

/// A batch's records, `CHUNK` rows per multi-row INSERT.
async fn insert_entries(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    entries: &[Entry],
) -> Result<(), StoreError> {
    for chunk in entries.chunks(CHUNK) {
        let mut insert: QueryBuilder<'_, Sqlite> =
            QueryBuilder::new(format!("INSERT INTO records (bucket, {ENTRY_COLUMNS}) "));
        insert.push_values(chunk, |mut row, entry| {
            row.push_bind(to_i64(bucket(entry.index)))
                .push_bind(to_i64(entry.index))
                .push_bind(&entry.trace_id)
                .push_bind(&entry.subject)
                .push_bind(&entry.activity)
                .push_bind(entry.start_ms)
                .push_bind(entry.expires_at)
                .push_bind(&entry.body)
                .push_bind(&entry.body_digest[..])
                .push_bind(&entry.leaf_hash[..]);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// A batch's new tree nodes, three times `CHUNK` rows per INSERT.
async fn insert_nodes(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    nodes: &[(NodeId, Hash)],
) -> Result<(), StoreError> {
    for chunk in nodes.chunks(CHUNK * 3) {
        let mut insert: QueryBuilder<'_, Sqlite> =
            QueryBuilder::new("INSERT INTO nodes (level, idx, hash) ");
        insert.push_values(chunk, |mut row, ((level, idx), hash)| {
            row.push_bind(i64::from(*level))
                .push_bind(to_i64(*idx))
                .push_bind(&hash[..]);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}
