use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use loket_store::rusqlite::{Transaction, params};
use loket_store::sqlx::{self, QueryBuilder, Sqlite, SqlitePool};
use loket_store::{SqliteReader, SqliteWriter, StoreError, WriterSettings, in_background};

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

#[derive(Debug)]
pub(crate) struct SqliteLog {
    pool: SqlitePool,
    /// Appends and prunes go through one connection of their own, on a thread of its
    /// own: a group commit is one hand-off to that thread instead of one per statement,
    /// and in WAL mode a connection that sees another's commit throws away its whole
    /// page cache, so alternating writers would read the tree's pages back from disk on
    /// every commit.
    writer: SqliteWriter,
    /// Reads many rows at once on a thread of its own: a complete bucket for the lookup
    /// tables, and the records in order for `verify`. Through sqlx (a hand-off to its
    /// connection's thread per row, each value copied) the bucket's 65,536 rows took
    /// 0.7–0.9 s beside the exchange's load, and `verify` spent three quarters of its time
    /// there (BENCHMARKS.md, the processing log).
    reader: Arc<SqliteReader>,
}

impl SqliteLog {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        // A larger WAL between checkpoints: a hot index page is then written back to the
        // database once per checkpoint instead of once per few commits. An 8 MiB page
        // cache, not more: at every commit SQLite walks the cache's whole hash table
        // (`pcache1TruncateUnsafe`), so a 128 MiB cache cost about 330 µs of CPU per
        // commit once the log outgrew it (BENCHMARKS.md, the processing log). The WAL
        // starts over at 32 MiB, by the background checkpoint, so that no commit waits
        // for the automatic one (sqlite_writer.rs).
        let writer = SqliteWriter::new(
            pool.connect_options().get_filename(),
            WriterSettings {
                wal_autocheckpoint: 16384,
                cache_kib: 8192,
                wal_restart_frames: 8192,
            },
        );
        let reader = Arc::new(SqliteReader::new(&pool));
        Self {
            pool,
            writer,
            reader,
        }
    }

    async fn append_batch(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
        // The writer lives and dies with the component's database.
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed.into());
        }
        self.writer.write(move |tx| write_batch(tx, &batch)).await
    }

    /// The log's group commit runs on a thread of its own and commits on it, through the
    /// writer's connection: a commit costs no hand-off to the writer's thread and back.
    const APPENDS_BLOCKING: bool = true;

    fn append_batch_blocking(&self, batch: &Batch) -> Result<(), StoreError> {
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed.into());
        }
        if batch.is_unsynced() {
            self.writer
                .write_blocking_unsynced(|tx| write_batch(tx, batch))
        } else {
            self.writer.write_blocking(|tx| write_batch(tx, batch))
        }
    }

    /// One writer: a bucket goes in a piece at a time between the appends (log.rs).
    const INDEXES_BESIDE_APPENDS: bool = false;

    async fn index_whole_bucket(&self, from: u64, end: u64) -> Result<(), StoreError> {
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed.into());
        }
        self.writer
            .write(move |tx| {
                for statement in index_bucket_statements("?1", "?2") {
                    tx.prepare_cached(&statement)?
                        .execute([to_i64(from), to_i64(end)])?;
                }
                tx.prepare_cached(&indexed_upto_statement("?1", "?2"))?
                    .execute([to_i64(end), to_i64(from)])?;
                Ok(())
            })
            .await
    }

    async fn bucket_order(&self, from: u64, end: u64) -> Result<(Vec<u64>, Vec<u64>), StoreError> {
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed.into());
        }
        let reader = self.reader.clone();
        // The read and the sort (65,536 keys twice: tens of milliseconds) on a thread of
        // their own at background priority, off the async workers and out of the way of
        // the requests that want the two cores meanwhile.
        in_background("logboek-sort", move || {
            let rows = reader.read(|connection| {
                let mut select = connection.prepare_cached(
                    "SELECT idx, subject, trace_id FROM records WHERE idx >= ?1 AND idx < ?2",
                )?;
                let rows = select.query_map(params![to_i64(from), to_i64(end)], |row| {
                    Ok((to_u64(row.get(0)?), row.get(1)?, row.get(2)?))
                })?;
                Ok(rows.collect::<Result<Vec<LookupKeys>, _>>()?)
            })?;
            Ok(bucket_order(rows))
        })
        .await
    }

    async fn scan_records(&self, from: u64, limit: u32) -> Result<Vec<Entry>, StoreError> {
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed.into());
        }
        let reader = self.reader.clone();
        let rows = tokio::task::spawn_blocking(move || {
            reader.read(|connection| {
                let mut select = connection.prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM records WHERE idx >= ?1 ORDER BY idx LIMIT ?2"
                ))?;
                let rows = select
                    .query_map(params![scan_start(from), i64::from(limit)], |row| {
                        EntryRow::try_from(row)
                    })?;
                Ok(rows.collect::<Result<Vec<EntryRow>, _>>()?)
            })
        })
        .await
        .map_err(|error| StoreError::Unavailable(format!("reading records stopped: {error}")))??;
        rows.into_iter().map(entry_from_row).collect()
    }

    /// On the reader's thread, as [`Self::scan_records`]: `verify` reads every bucket.
    async fn lookup_rows_of(&self, bucket: u64) -> Result<LookupRows, StoreError> {
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed.into());
        }
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            reader.read(|connection| {
                let [subjects, traces] = LOOKUP_TABLES.map(|table| {
                    let mut select =
                        connection.prepare_cached(&lookup_rows_statement(table, "?1"))?;
                    let rows = select.query_map([to_i64(bucket)], |row| {
                        Ok((to_u64(row.get(0)?), row.get(1)?))
                    })?;
                    rows.collect::<Result<Vec<(u64, String)>, _>>()
                });
                Ok(LookupRows {
                    subjects: subjects?,
                    traces: traces?,
                })
            })
        })
        .await
        .map_err(|error| StoreError::Unavailable(format!("reading lookup rows stopped: {error}")))?
    }

    async fn prune_expired(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed.into());
        }
        self.writer
            .write(move |tx| {
                let mut pruned = 0;
                for statement in prune_statements("?1", "?2") {
                    pruned = tx
                        .prepare_cached(&statement)?
                        .execute(params![now, i64::from(limit)])?;
                }
                Ok(u64::try_from(pruned).unwrap_or_default())
            })
            .await
    }
}

/// A batch in one transaction, a prepared single-row statement per table: SQLite runs a
/// prepared statement without parsing, so many executions cost what one multi-row
/// statement does, without building its text.
fn write_batch(tx: &Transaction<'_>, batch: &Batch) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO records (bucket, {ENTRY_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?;
    for entry in &batch.entries {
        insert.execute(params![
            to_i64(bucket(entry.index)),
            to_i64(entry.index),
            entry.trace_id,
            entry.subject,
            entry.activity,
            entry.start_ms,
            entry.expires_at,
            entry.body,
            &entry.body_digest[..],
            &entry.leaf_hash[..],
        ])?;
    }
    let mut insert =
        tx.prepare_cached("INSERT INTO nodes (upto, level, idx, hash) VALUES (?1, ?2, ?3, ?4)")?;
    for (id @ (level, idx), hash) in &batch.nodes {
        insert.execute(params![
            node_upto(*id),
            i64::from(*level),
            to_i64(*idx),
            &hash[..]
        ])?;
    }
    if let Some(head) = &batch.head {
        tx.prepare_cached(
            "INSERT INTO tree_heads (size, root, signed_at_ms, signature) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            to_i64(head.size),
            &head.root[..],
            head.signed_at_ms,
            head.signature
        ])?;
    }
    for (table, column, list) in [
        ("subject_index", "subject", &batch.index_subjects),
        ("trace_index", "trace_id", &batch.index_traces),
    ] {
        if list.is_empty() {
            continue;
        }
        // From the records themselves: one pruned since it was appended has no subject
        // or trace left to index.
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO {table} (bucket, {column}, idx) SELECT bucket, {column}, idx \
             FROM records WHERE {column} IS NOT NULL AND idx = ?1 ON CONFLICT DO NOTHING"
        ))?;
        for idx in list {
            insert.execute([to_i64(*idx)])?;
        }
    }
    if let Some(upto) = batch.indexed_upto {
        tx.prepare_cached(&indexed_upto_statement("?1", "?2"))?
            .execute([to_i64(upto), to_i64(batch.indexed_from)])?;
    }
    Ok(())
}

log_store_impl!(SqliteLog, Sqlite);
