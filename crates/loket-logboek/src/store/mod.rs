//! Where a log keeps its records, tree nodes and tree heads: a trait with a SQLite and a
//! Postgres implementation, tested with one contract suite on both.

mod postgres;
mod shared;
mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use loket_store::{Database, StoreError};

use crate::merkle::{Hash, NodeId};
use crate::record::Entry;
use crate::tree_head::SignedTreeHead;

/// One group commit: records, the tree nodes they completed, and the new signed head;
/// and with them the next piece of a complete bucket for the lookup tables.
#[derive(Debug, Default)]
pub struct Batch {
    pub entries: Vec<Entry>,
    pub nodes: Vec<(NodeId, Hash)>,
    pub head: Option<SignedTreeHead>,
    /// Records whose subject goes into `subject_index` now, in key order.
    pub index_subjects: Vec<u64>,
    /// Records whose trace goes into `trace_index` now, in key order.
    pub index_traces: Vec<u64>,
    /// Set with the bucket's last piece: every record below it is in the lookup tables.
    pub indexed_upto: Option<u64>,
    /// Where that bucket began: `indexed_upto` moves only from there, so a position
    /// lowered behind the log's back stays lowered for the writer to find.
    pub indexed_from: u64,
    /// The store may commit this batch without waiting for the disk, when it holds
    /// nothing but lookup-table rows ([`Batch::is_unsynced`]).
    pub unsynced: bool,
}

impl Batch {
    /// Whether the batch may commit without a sync: asked for, and only lookup-table
    /// rows, which a crash can only undo (they are made again from the durable records;
    /// `indexed_upto` moves in the same transaction as the last of them). Records and
    /// heads always wait for the disk.
    pub fn is_unsynced(&self) -> bool {
        self.unsynced && self.entries.is_empty() && self.nodes.is_empty() && self.head.is_none()
    }
}

/// A record's lookup keys as stored: index, subject, trace.
pub type LookupKeys = (u64, Option<String>, Option<String>);

/// The rows of one bucket of the two lookup tables, as (record index, key), in no
/// particular order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LookupRows {
    pub subjects: Vec<(u64, String)>,
    pub traces: Vec<(u64, String)>,
}

/// Which records an inzage asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub subject: Option<String>,
    pub trace_id: Option<String>,
    pub activity: Option<String>,
    pub start_from_ms: Option<i64>,
    pub start_until_ms: Option<i64>,
    /// Only records with an index below this (the next page).
    pub before: Option<u64>,
    pub limit: u32,
}

#[async_trait]
pub trait LogStore: Send + Sync + std::fmt::Debug {
    /// Write the whole batch in one transaction, or nothing.
    async fn append(&self, batch: Arc<Batch>) -> Result<(), StoreError>;
    /// Whether [`LogStore::append_blocking`] works; the log then runs its group commit on
    /// a thread of its own that commits itself. SQLite: yes, one connection of its own
    /// does the writing. Postgres: no, its connections belong to the runtime that opened
    /// them.
    fn appends_blocking(&self) -> bool;
    /// [`LogStore::append`] on the calling thread, blocking it until the batch is
    /// durable.
    fn append_blocking(&self, batch: &Batch) -> Result<(), StoreError>;
    async fn latest_head(&self) -> Result<Option<SignedTreeHead>, StoreError>;
    /// Tree heads with a size of at least `from_size`, smallest first.
    async fn heads(&self, from_size: u64, limit: u32) -> Result<Vec<SignedTreeHead>, StoreError>;
    /// The head of exactly this size, when one was signed.
    async fn head(&self, size: u64) -> Result<Option<SignedTreeHead>, StoreError>;
    /// Stored node hashes (level 0: leaf hashes); missing ids are left out.
    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError>;
    /// Records in index order from `from`, for verification.
    async fn scan(&self, from: u64, limit: u32) -> Result<Vec<Entry>, StoreError>;
    /// Records matching the filter, newest first. A lookup by subject or trace sees only
    /// the records in the lookup tables (below `indexed_upto`); `Logboek::query` adds the
    /// newer ones through [`LogStore::query_among`].
    async fn query(&self, filter: &Filter) -> Result<Vec<Entry>, StoreError>;
    /// Of the records `among`, the ones matching the filter, newest first.
    async fn query_among(&self, filter: &Filter, among: &[u64]) -> Result<Vec<Entry>, StoreError>;
    /// Every record below this one is in the lookup tables.
    async fn indexed_upto(&self) -> Result<u64, StoreError>;
    /// The rows of the lookup tables in bucket `bucket` (records `bucket << 16` up to
    /// the next bucket), for `verify`.
    async fn lookup_rows(&self, bucket: u64) -> Result<LookupRows, StoreError>;
    /// The lookup keys of the records from `from` on, in index order.
    async fn lookup_keys(&self, from: u64) -> Result<Vec<LookupKeys>, StoreError>;
    /// The records from `from` up to `end` with a subject, in subject order; and those
    /// with a trace, in trace order: the order in which they go into the lookup tables.
    async fn index_order(&self, from: u64, end: u64) -> Result<(Vec<u64>, Vec<u64>), StoreError>;
    /// Whether a complete bucket goes into the lookup tables in a transaction of its own,
    /// beside the appends ([`LogStore::index_bucket`]), rather than a piece at a time in
    /// the writer's commits. Postgres: yes, another backend does it on another core while
    /// the appends go on. SQLite: no, it has one writer, and a piece costs no extra sync.
    fn indexes_beside_appends(&self) -> bool;
    /// Put records `from..end` (one complete bucket) into the lookup tables and move
    /// `indexed_upto` to `end`, in one transaction.
    async fn index_bucket(&self, from: u64, end: u64) -> Result<(), StoreError>;
    /// Drop the body, subject and trace of records that expired before `now` (unix s);
    /// at most `limit` per call. Returns how many were pruned.
    async fn prune(&self, now: i64, limit: u32) -> Result<u64, StoreError>;
}

pub fn log_store(database: &Database) -> Arc<dyn LogStore> {
    match database {
        Database::Sqlite(pool) => Arc::new(sqlite::SqliteLog::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(postgres::PostgresLog::new(pool.clone())),
    }
}

/// The statements of a prune, with the backend's placeholders for `now` and `limit`: the
/// same records in each, the oldest expired ones by index.
pub(crate) fn prune_statements(now: &str, limit: &str) -> [String; 3] {
    let expired = format!(
        "FROM records WHERE body IS NOT NULL AND expires_at < {now} ORDER BY idx LIMIT {limit}"
    );
    let unindex = |table: &str, column: &str| {
        format!(
            "DELETE FROM {table} WHERE (bucket, {column}, idx) IN (SELECT bucket, {column}, idx {expired})"
        )
    };
    [
        unindex("subject_index", "subject"),
        unindex("trace_index", "trace_id"),
        format!(
            "UPDATE records SET body = NULL, subject = NULL, trace_id = NULL, activity = NULL \
             WHERE idx IN (SELECT idx {expired})"
        ),
    ]
}

/// Records `from..end` (within one bucket) into both lookup tables, with `from` and
/// `end` as the placeholders given. From the records themselves: one pruned since it was
/// appended has no subject or trace left to index. Whatever rows the range already has
/// go first, so indexing a range again changes nothing; plain inserts after that, because
/// `ON CONFLICT` makes Postgres insert speculatively: an index probe before and a confirm
/// record in the WAL after every row.
pub(crate) fn index_bucket_statements(from: &str, end: &str) -> [String; 4] {
    let clear = |table: &str| {
        format!(
            "DELETE FROM {table} WHERE bucket = ({from} >> {BUCKET_BITS}) AND idx >= {from} AND idx < {end}"
        )
    };
    let fill = |table: &str, column: &str| {
        format!(
            "INSERT INTO {table} (bucket, {column}, idx) SELECT bucket, {column}, idx \
             FROM records WHERE idx >= {from} AND idx < {end} AND {column} IS NOT NULL \
             ORDER BY {column}, idx"
        )
    };
    [
        clear("subject_index"),
        clear("trace_index"),
        fill("subject_index", "subject"),
        fill("trace_index", "trace_id"),
    ]
}

/// A bucket's records (idx, subject, trace) in the order they go into the two lookup
/// tables: by subject, and by trace. Byte order, as SQLite compares the tables' keys (it
/// only decides how local the inserts are).
pub(crate) fn bucket_order(rows: Vec<LookupKeys>) -> (Vec<u64>, Vec<u64>) {
    let mut subjects = Vec::with_capacity(rows.len());
    let mut traces = Vec::with_capacity(rows.len());
    for (idx, subject, trace) in rows {
        subjects.extend(subject.map(|subject| (subject, idx)));
        traces.extend(trace.map(|trace| (trace, idx)));
    }
    let order = |mut keyed: Vec<(String, u64)>| {
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, idx)| idx).collect()
    };
    (order(subjects), order(traces))
}

/// The two lookup tables with their key columns.
pub(crate) const LOOKUP_TABLES: [(&str, &str); 2] =
    [("subject_index", "subject"), ("trace_index", "trace_id")];

/// A bucket's rows (idx, key) of a lookup table, with `bucket` as the placeholder given.
pub(crate) fn lookup_rows_statement((table, column): (&str, &str), bucket: &str) -> String {
    format!("SELECT idx, {column} FROM {table} WHERE bucket = {bucket}")
}

/// Every record below `upto` is in the lookup tables, for a bucket that began at `from`
/// (placeholders): the position moves only from there. One lowered behind the log's
/// back meanwhile stays as it is, for the writer to find (and mend) rather than cover.
pub(crate) fn indexed_upto_statement(upto: &str, from: &str) -> String {
    format!(
        "INSERT INTO index_state (id, indexed_upto) VALUES (1, {upto}) \
         ON CONFLICT (id) DO UPDATE SET indexed_upto = excluded.indexed_upto \
         WHERE index_state.indexed_upto = {from}"
    )
}

pub(crate) fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".to_owned()))
}

/// Records per bucket (see the migration): 65,536.
const BUCKET_BITS: u32 = 16;

pub(crate) fn bucket(index: u64) -> u64 {
    index >> BUCKET_BITS
}

/// The first record of the bucket after the one holding `index`.
pub(crate) fn bucket_end(index: u64) -> u64 {
    (bucket(index) + 1) << BUCKET_BITS
}

/// The bucket numbers from the one holding `last` down to 0, as an SQL list.
pub(crate) fn buckets(last: i64) -> String {
    if last < 0 {
        return "-1".to_owned();
    }
    let top = last >> BUCKET_BITS;
    (0..=top)
        .rev()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A tree node's key in the `nodes` table (with its level): one past the last leaf it
/// covers, `(idx + 1) << level`, so the nodes a commit completes are neighbours
/// (migration 3). A node no tree can have (the key would overflow) gets `i64::MAX`,
/// which no stored node has.
pub(crate) fn node_upto((level, idx): NodeId) -> i64 {
    match idx.checked_add(1) {
        Some(end) if level < 64 && end.leading_zeros() > level => to_i64(end << level),
        _ => i64::MAX,
    }
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// idx, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash
pub(crate) type EntryRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Vec<u8>,
    Vec<u8>,
);

pub(crate) const ENTRY_COLUMNS: &str =
    "idx, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash";

/// Where a scan from `from` starts in the table: from the very bottom when it starts at
/// the first record, so that a record put below it (a negative index, which the log never
/// writes) is read, and refused, rather than passed over.
pub(crate) fn scan_start(from: u64) -> i64 {
    if from == 0 { i64::MIN } else { to_i64(from) }
}

pub(crate) fn entry_from_row(row: EntryRow) -> Result<Entry, StoreError> {
    let (idx, trace_id, subject, activity, start_ms, expires_at, body, digest, leaf) = row;
    let index = u64::try_from(idx).map_err(|_| {
        StoreError::Corrupt(format!(
            "there is a record at index {idx}, which the log never writes: it was inserted behind the log's back"
        ))
    })?;
    Ok(Entry {
        index,
        trace_id,
        subject,
        activity,
        start_ms,
        expires_at,
        body,
        body_digest: to_hash(&digest)?,
        leaf_hash: to_hash(&leaf)?,
    })
}

/// size, root, signed_at_ms, signature
pub(crate) type HeadRow = (i64, Vec<u8>, i64, Vec<u8>);

pub(crate) fn head_from_row(
    (size, root, at, signature): HeadRow,
) -> Result<SignedTreeHead, StoreError> {
    Ok(SignedTreeHead {
        size: to_u64(size),
        root: to_hash(&root)?,
        signed_at_ms: at,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_keyed_by_one_past_its_last_leaf() {
        assert_eq!(node_upto((1, 0)), 2);
        assert_eq!(node_upto((1, 3)), 8);
        assert_eq!(node_upto((3, 1)), 16);
        // The nodes one leaf completes (leaf 7: levels 1, 2, 3) share a key.
        assert_eq!(node_upto((1, 3)), node_upto((2, 1)));
        assert_eq!(node_upto((2, 1)), node_upto((3, 0)));
        assert_eq!(node_upto((62, 0)), 1 << 62);
        assert_eq!(node_upto((63, 0)), i64::MAX);
        assert_eq!(node_upto((64, 0)), i64::MAX);
        assert_eq!(node_upto((1, u64::MAX)), i64::MAX);
        assert_eq!(node_upto((0, u64::MAX >> 1)), i64::MAX);
    }

    #[test]
    fn a_bucket_is_ordered_by_key_then_record_and_records_without_one_are_left_out() {
        let some = |s: &str| Some(s.to_owned());
        let rows = vec![
            (7, some("b"), some("t2")),
            (5, some("a"), None),
            (6, None, some("t1")),
            (4, some("b"), some("t1")),
        ];
        assert_eq!(bucket_order(rows), (vec![5, 4, 7], vec![4, 6, 7]));
    }

    #[test]
    fn only_a_batch_of_lookup_rows_alone_may_skip_the_sync() {
        let rows = Batch {
            index_traces: vec![1, 2],
            indexed_upto: Some(65_536),
            unsynced: true,
            ..Batch::default()
        };
        assert!(rows.is_unsynced());
        assert!(
            !Batch {
                unsynced: false,
                ..rows
            }
            .is_unsynced()
        );
        let with_node = Batch {
            nodes: vec![((1, 0), [0; 32])],
            unsynced: true,
            ..Batch::default()
        };
        assert!(
            !with_node.is_unsynced(),
            "tree nodes always wait for the disk"
        );
    }

    #[test]
    fn buckets_cover_every_record_up_to_the_last_newest_first() {
        assert_eq!(buckets(-1), "-1");
        assert_eq!(buckets(0), "0");
        assert_eq!(buckets(65_535), "0");
        assert_eq!(buckets(65_536), "1,0");
        assert_eq!(bucket(65_536 * 3 + 7), 3);
        assert_eq!(bucket_end(0), 65_536);
        assert_eq!(bucket_end(65_535), 65_536);
        assert_eq!(bucket_end(65_536), 131_072);
    }
}
