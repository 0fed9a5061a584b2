//! The one implementation of [`LogStore`], instantiated for SQLite and for Postgres:
//! every statement is built with `QueryBuilder`, which writes each backend's own
//! placeholders, so the SQL is the same text for both.

/// `impl LogStore for $store` over pools of `$db`; `$store` has a `pool` for reads and a
/// `writer` for appends.
macro_rules! log_store_impl {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl LogStore for $store {
            async fn append(&self, batch: &Batch) -> Result<(), StoreError> {
                // The writer lives and dies with the component's database.
                if self.pool.is_closed() {
                    self.writer.close().await;
                    return Err(sqlx::Error::PoolClosed.into());
                }
                let mut tx = self.writer.begin().await?;
                for chunk in batch.entries.chunks(CHUNK) {
                    let mut insert: QueryBuilder<'_, $db> =
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
                    insert.build().execute(&mut *tx).await?;
                }
                for chunk in batch.nodes.chunks(CHUNK * 3) {
                    let mut insert: QueryBuilder<'_, $db> =
                        QueryBuilder::new("INSERT INTO nodes (level, idx, hash) ");
                    insert.push_values(chunk, |mut row, ((level, idx), hash)| {
                        row.push_bind(i64::from(*level))
                            .push_bind(to_i64(*idx))
                            .push_bind(&hash[..]);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                if let Some(head) = &batch.head {
                    let mut insert: QueryBuilder<'_, $db> =
                        QueryBuilder::new("INSERT INTO tree_heads (size, root, signed_at_ms, signature) ");
                    insert.push_values([head], |mut row, head| {
                        row.push_bind(to_i64(head.size))
                            .push_bind(&head.root[..])
                            .push_bind(head.signed_at_ms)
                            .push_bind(&head.signature);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn latest_head(&self) -> Result<Option<SignedTreeHead>, StoreError> {
                let row: Option<HeadRow> = sqlx::query_as(
                    "SELECT size, root, signed_at_ms, signature FROM tree_heads ORDER BY size DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?;
                row.map(head_from_row).transpose()
            }

            async fn heads(&self, from_size: u64, limit: u32) -> Result<Vec<SignedTreeHead>, StoreError> {
                let mut select: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT size, root, signed_at_ms, signature FROM tree_heads WHERE size >= ");
                select
                    .push_bind(to_i64(from_size))
                    .push(" ORDER BY size LIMIT ")
                    .push_bind(i64::from(limit));
                let rows: Vec<HeadRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(head_from_row).collect()
            }

            async fn head(&self, size: u64) -> Result<Option<SignedTreeHead>, StoreError> {
                let mut select: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT size, root, signed_at_ms, signature FROM tree_heads WHERE size = ");
                select.push_bind(to_i64(size));
                let row: Option<HeadRow> = select.build_query_as().fetch_optional(&self.pool).await?;
                row.map(head_from_row).transpose()
            }

            async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
                let mut found = HashMap::with_capacity(ids.len());
                let (leaves, inner): (Vec<&NodeId>, Vec<&NodeId>) = ids.iter().partition(|id| id.0 == 0);
                if !leaves.is_empty() {
                    let mut select: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT idx, leaf_hash FROM records WHERE idx IN (");
                    let mut list = select.separated(", ");
                    for (_, idx) in &leaves {
                        list.push_bind(to_i64(*idx));
                    }
                    select.push(")");
                    let rows: Vec<(i64, Vec<u8>)> = select.build_query_as().fetch_all(&self.pool).await?;
                    for (idx, hash) in rows {
                        found.insert((0, to_u64(idx)), to_hash(&hash)?);
                    }
                }
                if !inner.is_empty() {
                    let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "SELECT level, idx, hash FROM nodes WHERE (level, idx) IN (VALUES ",
                    );
                    let mut list = select.separated(", ");
                    for (level, idx) in &inner {
                        list.push("(")
                            .push_bind_unseparated(i64::from(*level))
                            .push_unseparated(", ")
                            .push_bind_unseparated(to_i64(*idx))
                            .push_unseparated(")");
                    }
                    select.push(")");
                    let rows: Vec<(i64, i64, Vec<u8>)> =
                        select.build_query_as().fetch_all(&self.pool).await?;
                    for (level, idx, hash) in rows {
                        let level = u32::try_from(level).unwrap_or(u32::MAX);
                        found.insert((level, to_u64(idx)), to_hash(&hash)?);
                    }
                }
                Ok(found)
            }

            async fn scan(&self, from: u64, limit: u32) -> Result<Vec<Entry>, StoreError> {
                let mut select: QueryBuilder<'_, $db> =
                    QueryBuilder::new(format!("SELECT {ENTRY_COLUMNS} FROM records WHERE idx >= "));
                select
                    .push_bind(to_i64(from))
                    .push(" ORDER BY idx LIMIT ")
                    .push_bind(i64::from(limit));
                let rows: Vec<EntryRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(entry_from_row).collect()
            }

            async fn query(&self, filter: &Filter) -> Result<Vec<Entry>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {ENTRY_COLUMNS} FROM records WHERE body IS NOT NULL"
                ));
                // Lookups by subject or trace probe their index once per bucket, newest first.
                if filter.subject.is_some() || filter.trace_id.is_some() {
                    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx), -1) FROM records")
                        .fetch_one(&self.pool)
                        .await?;
                    let last = match filter.before {
                        Some(before) => last.min(to_i64(before) - 1),
                        None => last,
                    };
                    select
                        .push(" AND bucket IN (")
                        .push(buckets(last))
                        .push(")");
                }
                if let Some(subject) = &filter.subject {
                    select.push(" AND subject = ").push_bind(subject);
                }
                if let Some(trace) = &filter.trace_id {
                    select.push(" AND trace_id = ").push_bind(trace);
                }
                if let Some(activity) = &filter.activity {
                    select.push(" AND activity = ").push_bind(activity);
                }
                if let Some(from) = filter.start_from_ms {
                    select.push(" AND start_ms >= ").push_bind(from);
                }
                if let Some(until) = filter.start_until_ms {
                    select.push(" AND start_ms <= ").push_bind(until);
                }
                if let Some(before) = filter.before {
                    select.push(" AND idx < ").push_bind(to_i64(before));
                }
                select
                    // `idx + 0`: never walk the primary key backwards looking for a
                    // subject's few records (Postgres does when its statistics lag
                    // behind a burst of appends: 24 s instead of 2 ms at 10 M records).
                    .push(" ORDER BY idx + 0 DESC LIMIT ")
                    .push_bind(i64::from(filter.limit));
                let rows: Vec<EntryRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(entry_from_row).collect()
            }

            async fn prune(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
                let mut update: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "UPDATE records SET body = NULL, subject = NULL, trace_id = NULL, activity = NULL
                     WHERE idx IN (SELECT idx FROM records WHERE body IS NOT NULL AND expires_at < ",
                );
                update
                    .push_bind(now)
                    .push(" LIMIT ")
                    .push_bind(i64::from(limit))
                    .push(")");
                let result = update.build().execute(&self.pool).await?;
                Ok(result.rows_affected())
            }
        }
    };
}
pub(crate) use log_store_impl;
