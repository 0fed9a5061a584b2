//! The one implementation of [`LogStore`], instantiated for SQLite and for Postgres:
//! every statement is built with `QueryBuilder`, which writes each backend's own
//! placeholders, so the SQL is the same text for both.

/// `impl LogStore for $store` over a pool of `$db` (`pool`, for reads); appends, prunes,
/// indexing, and reading records or lookup rows in bulk are the backend's own (`append_batch`,
/// `append_batch_blocking`, `APPENDS_BLOCKING`, `prune_expired`, `bucket_order`,
/// `index_whole_bucket`, `INDEXES_BESIDE_APPENDS`, `scan_records`, `lookup_rows_of`).
macro_rules! log_store_impl {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl LogStore for $store {
            async fn append(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
                self.append_batch(batch).await
            }

            fn appends_blocking(&self) -> bool {
                Self::APPENDS_BLOCKING
            }

            fn append_blocking(&self, batch: &Batch) -> Result<(), StoreError> {
                self.append_batch_blocking(batch)
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
                        "SELECT level, idx, hash FROM nodes WHERE (upto, level) IN (VALUES ",
                    );
                    let mut list = select.separated(", ");
                    for id in &inner {
                        list.push("(")
                            .push_bind_unseparated(node_upto(**id))
                            .push_unseparated(", ")
                            .push_bind_unseparated(i64::from(id.0))
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
                self.scan_records(from, limit).await
            }

            async fn query(&self, filter: &Filter) -> Result<Vec<Entry>, StoreError> {
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {ENTRY_COLUMNS} FROM records WHERE body IS NOT NULL"
                ));
                let by_lookup = filter.subject.is_some() || filter.trace_id.is_some();
                // Lookups by subject or trace probe their table once per bucket, newest first.
                if by_lookup {
                    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx), -1) FROM records")
                        .fetch_one(&self.pool)
                        .await?;
                    let last = match filter.before {
                        Some(before) => last.min(to_i64(before) - 1),
                        None => last,
                    };
                    let buckets = buckets(last);
                    for (table, column, value) in [
                        ("subject_index", "subject", &filter.subject),
                        ("trace_index", "trace_id", &filter.trace_id),
                    ] {
                        if let Some(value) = value {
                            select
                                .push(format!(
                                    " AND idx IN (SELECT idx FROM {table} WHERE bucket IN ({buckets}) AND {column} = "
                                ))
                                .push_bind(value)
                                .push(")");
                        }
                    }
                }
                Self::push_conditions(&mut select, filter);
                select
                    .push(if by_lookup {
                        // `idx + 0`: never walk the primary key backwards looking for a
                        // subject's few records (Postgres does when its statistics lag
                        // behind a burst of appends: 24 s instead of 2 ms at 10 M records).
                        " ORDER BY idx + 0 DESC LIMIT "
                    } else {
                        // A search by processing activity or time alone (the privacy
                        // officer's): walk back from the newest record and stop at the
                        // page's end, rather than read and sort the whole table (1.95 s
                        // against under 10 ms at 1 M records, BENCHMARKS.md).
                        " ORDER BY idx DESC LIMIT "
                    })
                    .push_bind(i64::from(filter.limit));
                let rows: Vec<EntryRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(entry_from_row).collect()
            }

            async fn query_among(&self, filter: &Filter, among: &[u64]) -> Result<Vec<Entry>, StoreError> {
                if among.is_empty() {
                    return Ok(Vec::new());
                }
                let mut select: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {ENTRY_COLUMNS} FROM records WHERE body IS NOT NULL AND idx IN ("
                ));
                let mut list = select.separated(", ");
                for idx in among {
                    list.push_bind(to_i64(*idx));
                }
                select.push(")");
                Self::push_conditions(&mut select, filter);
                select
                    .push(" ORDER BY idx DESC LIMIT ")
                    .push_bind(i64::from(filter.limit));
                let rows: Vec<EntryRow> = select.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(entry_from_row).collect()
            }

            async fn indexed_upto(&self) -> Result<u64, StoreError> {
                let upto: Option<i64> =
                    sqlx::query_scalar("SELECT indexed_upto FROM index_state WHERE id = 1")
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(to_u64(upto.unwrap_or_default()))
            }

            async fn lookup_keys(&self, from: u64) -> Result<Vec<LookupKeys>, StoreError> {
                let mut select: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT idx, subject, trace_id FROM records WHERE idx >= ");
                select.push_bind(to_i64(from)).push(" ORDER BY idx");
                let rows: Vec<(i64, Option<String>, Option<String>)> =
                    select.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(idx, subject, trace)| (to_u64(idx), subject, trace))
                    .collect())
            }

            async fn lookup_rows(&self, bucket: u64) -> Result<LookupRows, StoreError> {
                self.lookup_rows_of(bucket).await
            }

            async fn index_order(&self, from: u64, end: u64) -> Result<(Vec<u64>, Vec<u64>), StoreError> {
                self.bucket_order(from, end).await
            }

            async fn prune(&self, now: i64, limit: u32) -> Result<u64, StoreError> {
                self.prune_expired(now, limit).await
            }

            fn indexes_beside_appends(&self) -> bool {
                Self::INDEXES_BESIDE_APPENDS
            }

            async fn index_bucket(&self, from: u64, end: u64) -> Result<(), StoreError> {
                self.index_whole_bucket(from, end).await
            }
        }

        impl $store {
            /// The filter's conditions on a record's own columns. Subject and trace are
            /// checked here too: the lookup tables and the log's tail only narrow down.
            fn push_conditions<'a>(select: &mut QueryBuilder<'a, $db>, filter: &'a Filter) {
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
            }
        }
    };
}
pub(crate) use log_store_impl;
