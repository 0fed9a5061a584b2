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
