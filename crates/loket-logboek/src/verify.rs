//! `loket log verify`: recompute the whole tree from the stored records and check it
//! against every signed tree head. Any record modified, removed, inserted or reordered
//! makes it fail, naming the first record (or range) that is wrong.

use std::cmp::Ordering;
use std::time::Duration;

use loket_store::StoreError;
use sha2::{Digest, Sha256};

use crate::keys::VerifyingKey;
use crate::merkle::{Frontier, Hash, NodeId, leaf_hash};
use crate::record::{Entry, leaf_input};
use crate::store::{LogStore, bucket, bucket_end};
use crate::tree_head::SignedTreeHead;
use crate::tree_nodes::kept;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub records: u64,
    pub pruned: u64,
    pub tree_heads: u64,
}

/// Why the log cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tampered {
    #[error("record {0} is missing: a record was removed or the records were renumbered")]
    Missing(u64),
    #[error("record {0} was modified: its content does not match its digest")]
    BodyModified(u64),
    #[error("record {0} was modified: its leaf hash does not match its content and position")]
    LeafModified(u64),
    #[error(
        "record {0} was modified: the columns it is found by (subject, trace, processing activity, time) do not match its content"
    )]
    ColumnsModified(u64),
    #[error(
        "the stored tree node at level {level}, position {index} does not match the records: proofs over it would fail"
    )]
    NodeModified { level: u32, index: u64 },
    #[error(
        "record {index} cannot be found by its {by}: its row in the lookup table is missing, so an inzage by {by} would not show it"
    )]
    NotInLookup { index: u64, by: Lookup },
    #[error(
        "the lookup table by {by} has a row for record {index} with a {by} that record does not have"
    )]
    LookupForged { index: u64, by: Lookup },
    #[error("record {0} was removed before its retention period ended")]
    PrunedEarly(u64),
    #[error(
        "records {from} to {to} do not match the tree head signed for {size} records: one of them was changed, removed, inserted or reordered"
    )]
    RootMismatch { from: u64, to: u64, size: u64 },
    #[error("the tree head for {0} records has an invalid signature")]
    BadSignature(u64),
    #[error(
        "there is a signed tree head for {heads} records but only {records} records: records were removed at the end"
    )]
    Truncated { heads: u64, records: u64 },
    #[error(
        "records {0} and later are not covered by any signed tree head: they were inserted, or the log stopped before it signed them (a log signs such records when it starts again, after checking them)"
    )]
    Unsigned(u64),
    #[error(
        "the log signed a tree head over {0} records (the head file beside its keys), but the database no longer holds it: heads were removed, and records after them may have been rewritten"
    )]
    HeadRemoved(u64),
}

/// A lookup table: how an inzage finds a resident's records, or a trace's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Subject,
    Trace,
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Subject => "subject",
            Self::Trace => "trace",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Tampered(#[from] Tampered),
    #[error(transparent)]
    Store(#[from] StoreError),
}

const PAGE: u32 = 20_000;
/// A running log signs its newest records within [`crate::HEAD_INTERVAL`]; `verify`
/// waits this long for that head before it calls them unsigned.
const UNSIGNED_WAIT: Duration = Duration::from_secs(2);
const UNSIGNED_POLL: Duration = Duration::from_millis(20);

/// Check every record and every tree head; `now` (unix seconds) decides which records
/// may have been pruned; `known` is a head the log is known to have signed (its
/// [`crate::HeadFile`]), which the database must still hold. On a log that is being
/// appended to, it checks up to the first head that covers every record there was when
/// it reached the end.
pub async fn verify(
    store: &dyn LogStore,
    key: &VerifyingKey,
    now: i64,
    known: Option<&SignedTreeHead>,
) -> Result<Report, VerifyError> {
    if let Some(known) = known
        && store.head(known.size).await?.as_ref() != Some(known)
    {
        return Err(Tampered::HeadRemoved(known.size).into());
    }
    let mut tree = Checked {
        frontier: Frontier::new(),
        last_good: 0,
        report: Report {
            records: 0,
            pruned: 0,
            tree_heads: 0,
        },
        keys: BucketKeys::default(),
        lookup_checked_to: 0,
    };
    let mut heads = Heads::default();
    // The page after a full one, read while that one was checked: the store reads (on
    // SQLite, on a thread of its own) while this thread hashes.
    let mut ahead: Option<(u64, Result<Vec<Entry>, StoreError>)> = None;
    let mut looked_again = false;
    let mut reached_end = false;
    let mut waited = Duration::ZERO;
    loop {
        let mut limit = PAGE;
        if reached_end {
            tree.check_heads(&mut heads, store, key).await?;
            if tree.last_good == tree.frontier.size() {
                break;
            }
            match heads.first_size(store).await? {
                // Read on to that head and stop there.
                Some(size) => {
                    limit =
                        u32::try_from(size - tree.frontier.size()).map_or(PAGE, |n| n.min(PAGE));
                }
                None if waited < UNSIGNED_WAIT => {
                    tokio::time::sleep(UNSIGNED_POLL).await;
                    waited += UNSIGNED_POLL;
                    continue;
                }
                None => return Err(Tampered::Unsigned(tree.last_good).into()),
            }
        }
        let from = tree.frontier.size();
        let page = match ahead.take() {
            // Read a moment ago: the log only grows, so it is a page a scan could have
            // given then, and what follows treats it as such.
            Some((at, read)) if at == from && limit == PAGE => read?,
            _ => store.scan(from, limit).await?,
        };
        if page.is_empty() {
            match heads.first_size(store).await? {
                None if tree.last_good == tree.frontier.size() => break,
                // The newest records have no head yet: wait for it (above).
                None => {
                    reached_end = true;
                    continue;
                }
                // A head beyond the last record read: on a log that is being appended
                // to, a commit (its records and its head, at once) may have landed after
                // that read. Look once more before calling the log truncated.
                Some(_) if !looked_again => {
                    looked_again = true;
                    continue;
                }
                Some(size) => {
                    return Err(Tampered::Truncated {
                        heads: size,
                        records: tree.frontier.size(),
                    }
                    .into());
                }
            }
        }
        looked_again = false;
        let next = from + page.len() as u64;
        let full = page.len() == PAGE as usize;
        let checking = tree.check_records(page, &mut heads, store, key, now);
        if full && !reached_end {
            let (read, checked) = tokio::join!(store.scan(next, PAGE), checking);
            checked?;
            ahead = Some((next, read));
        } else {
            checking.await?;
        }
    }
    // The last bucket, complete or not.
    tree.check_lookup(store).await?;
    Ok(tree.report)
}

/// The record's leaf recomputed from its content and position: its body must match its
/// digest (a pruned record has only the digest), and the leaf the stored leaf hash.
pub(crate) fn recomputed_leaf(entry: &Entry) -> Result<Hash, Tampered> {
    if let Some(body) = &entry.body {
        let digest: [u8; 32] = Sha256::digest(body.as_bytes()).into();
        if digest != entry.body_digest {
            return Err(Tampered::BodyModified(entry.index));
        }
    }
    let leaf = leaf_hash(&leaf_input(
        entry.index,
        entry.expires_at,
        &entry.body_digest,
    ));
    if leaf != entry.leaf_hash {
        return Err(Tampered::LeafModified(entry.index));
    }
    Ok(leaf)
}

/// The stored tree nodes must be the ones the records make: proofs are built from them.
async fn check_nodes(
    completed: &[(NodeId, Hash)],
    store: &dyn LogStore,
) -> Result<(), VerifyError> {
    for chunk in completed.chunks(1000) {
        let ids: Vec<NodeId> = chunk.iter().map(|(id, _)| *id).collect();
        let stored = store.nodes(&ids).await?;
        for ((level, index), hash) in chunk {
            if stored.get(&(*level, *index)) != Some(hash) {
                return Err(Tampered::NodeModified {
                    level: *level,
                    index: *index,
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The tree recomputed so far, and how far the signed heads confirm it.
struct Checked {
    frontier: Frontier,
    /// The size of the last head that matched.
    last_good: u64,
    report: Report,
    /// The lookup keys of the current bucket's records read so far.
    keys: BucketKeys,
    /// The end of the records whose lookup rows were checked last.
    lookup_checked_to: u64,
}

/// What the lookup tables must hold for a bucket's records, as the records say once
/// checked against their bodies: (index, key) of each unpruned record with a subject,
/// and with a trace, in index order.
#[derive(Default)]
struct BucketKeys {
    subjects: Vec<(u64, String)>,
    traces: Vec<(u64, String)>,
}

impl Checked {
    /// Add `page` (the records that follow, in order) to the tree, checking each record
    /// and every head it completes.
    async fn check_records(
        &mut self,
        page: Vec<Entry>,
        heads: &mut Heads,
        store: &dyn LogStore,
        key: &VerifyingKey,
        now: i64,
    ) -> Result<(), VerifyError> {
        // The stored nodes the page completes, as the records make them.
        let mut completed = Vec::new();
        for entry in page {
            let index = self.frontier.size();
            if entry.index != index {
                return Err(Tampered::Missing(index).into());
            }
            match &entry.body {
                Some(_) => {}
                None if entry.expires_at > now => return Err(Tampered::PrunedEarly(index).into()),
                None => self.report.pruned += 1,
            }
            let leaf = recomputed_leaf(&entry)?;
            if !entry.columns_match_body() {
                return Err(Tampered::ColumnsModified(index).into());
            }
            if entry.body.is_some() {
                self.keys
                    .subjects
                    .extend(entry.subject.map(|key| (index, key)));
                self.keys
                    .traces
                    .extend(entry.trace_id.map(|key| (index, key)));
            }
            completed.extend(kept(self.frontier.push(leaf)));
            self.report.records += 1;
            self.check_heads(heads, store, key).await?;
            if bucket_end(index) == index + 1 {
                self.check_lookup(store).await?;
            }
        }
        check_nodes(&completed, store).await
    }

    /// The lookup tables' rows for the bucket of the records read last must be exactly
    /// what those records say. A missing row hides a record from an inzage by subject or
    /// trace (below `indexed_upto`, the log looks nowhere else); a row that points at a
    /// record without that key shows nothing (every lookup checks the record's own
    /// columns), but only tampering makes one.
    async fn check_lookup(&mut self, store: &dyn LogStore) -> Result<(), VerifyError> {
        let keys = std::mem::take(&mut self.keys);
        let end = self.frontier.size();
        // A log that ends with a complete bucket: checked as it was read.
        let Some(last) = end.checked_sub(1).filter(|_| end > self.lookup_checked_to) else {
            return Ok(());
        };
        self.lookup_checked_to = end;
        // Read first: the rows below it were committed with it.
        let indexed_upto = store.indexed_upto().await?;
        let rows = store.lookup_rows(bucket(last)).await?;
        let read = Read { end, indexed_upto };
        read.check_table(Lookup::Subject, keys.subjects, rows.subjects, store)
            .await?;
        read.check_table(Lookup::Trace, keys.traces, rows.traces, store)
            .await
    }

    /// Every head signed at the current size must agree with the recomputed tree.
    async fn check_heads(
        &mut self,
        heads: &mut Heads,
        store: &dyn LogStore,
        key: &VerifyingKey,
    ) -> Result<(), VerifyError> {
        while let Some(head) = heads.next_up_to(store, self.frontier.size()).await? {
            if !head.verify(key) {
                return Err(Tampered::BadSignature(head.size).into());
            }
            if head.size < self.frontier.size() {
                // Only possible if a head's size was rewritten: its signature covers it.
                return Err(Tampered::BadSignature(head.size).into());
            }
            if head.root != self.frontier.root() {
                return Err(Tampered::RootMismatch {
                    from: self.last_good,
                    to: head.size - 1,
                    size: head.size,
                }
                .into());
            }
            self.last_good = head.size;
            self.report.tree_heads += 1;
        }
        Ok(())
    }
}

/// Where a bucket's lookup rows are checked against its records.
struct Read {
    /// One past the last record read: rows of records after it (on a log that is being
    /// appended to) are not checked.
    end: u64,
    /// Records below this must have their rows; later ones may (SQLite adds a bucket's
    /// rows a piece at a time, and moves `indexed_upto` with the last piece).
    indexed_upto: u64,
}

impl Read {
    /// `expected`: in index order; `rows`: as stored, any order.
    async fn check_table(
        &self,
        by: Lookup,
        expected: Vec<(u64, String)>,
        mut rows: Vec<(u64, String)>,
        store: &dyn LogStore,
    ) -> Result<(), VerifyError> {
        rows.retain(|(index, _)| *index < self.end);
        rows.sort_unstable();
        let mut expected = expected.into_iter().peekable();
        let mut rows = rows.into_iter().peekable();
        loop {
            // Both in (index, key) order: the smaller one has no partner in the other.
            let order = match (expected.peek(), rows.peek()) {
                (None, None) => return Ok(()),
                (Some(wanted), Some(row)) => wanted.cmp(row),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
            };
            match order {
                Ordering::Equal => {
                    expected.next();
                    rows.next();
                }
                Ordering::Less => {
                    if let Some((index, _)) = expected.next()
                        && index < self.indexed_upto
                        && !pruned_now(store, index).await?
                    {
                        return Err(Tampered::NotInLookup { index, by }.into());
                    }
                }
                // A row left for a pruned record shows nothing (a lookup returns only
                // records with a body); logs from before prunes and lookup pieces took
                // turns on Postgres may hold some.
                Ordering::Greater => {
                    if let Some((index, _)) = rows.next()
                        && !pruned_now(store, index).await?
                    {
                        return Err(Tampered::LookupForged { index, by }.into());
                    }
                }
            }
        }
    }
}

/// Whether the record is pruned now (a record read before a prune that took its lookup
/// rows away in the same transaction). Whether it was pruned too early is not asked
/// here: the running log prunes by its own clock, later than `verify`'s.
async fn pruned_now(store: &dyn LogStore, index: u64) -> Result<bool, StoreError> {
    let now = store.scan(index, 1).await?;
    Ok(now
        .first()
        .is_some_and(|entry| entry.index == index && entry.body.is_none()))
}

/// The signed tree heads in order of size, read a page at a time. Once every head read
/// is used up, the next question reads again: on a log that is being appended to, a
/// record read after the last page of heads comes with a head committed beside it.
#[derive(Default)]
struct Heads {
    page: std::collections::VecDeque<SignedTreeHead>,
    /// The size after the last head read, where the next page starts.
    next_from: u64,
}

impl Heads {
    /// The next head when its size is at most `size`.
    async fn next_up_to(
        &mut self,
        store: &dyn LogStore,
        size: u64,
    ) -> Result<Option<SignedTreeHead>, StoreError> {
        if self
            .first_size(store)
            .await?
            .is_some_and(|first| first <= size)
        {
            return Ok(self.page.pop_front());
        }
        Ok(None)
    }

    /// The size of the next head, without taking it.
    async fn first_size(&mut self, store: &dyn LogStore) -> Result<Option<u64>, StoreError> {
        if self.page.is_empty() {
            self.page = store.heads(self.next_from, PAGE).await?.into();
            if let Some(last) = self.page.back() {
                self.next_from = last.size + 1;
            }
        }
        Ok(self.page.front().map(|head| head.size))
    }
}
