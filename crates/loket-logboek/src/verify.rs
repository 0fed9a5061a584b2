//! `loket log verify`: recompute the whole tree from the stored records and check it
//! against every signed tree head. Any record modified, removed, inserted or reordered
//! makes it fail, naming the first record (or range) that is wrong.

use loket_store::StoreError;
use sha2::{Digest, Sha256};

use crate::keys::VerifyingKey;
use crate::merkle::{Frontier, leaf_hash};
use crate::record::leaf_input;
use crate::store::LogStore;
use crate::tree_head::SignedTreeHead;

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
    #[error("records {0} and later are not covered by any signed tree head: they were inserted")]
    Unsigned(u64),
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Tampered(#[from] Tampered),
    #[error(transparent)]
    Store(#[from] StoreError),
}

const PAGE: u32 = 20_000;

/// Check every record and every tree head; `now` (unix seconds) decides which records
/// may have been pruned.
pub async fn verify(
    store: &dyn LogStore,
    key: &VerifyingKey,
    now: i64,
) -> Result<Report, VerifyError> {
    let mut frontier = Frontier::new();
    let mut report = Report {
        records: 0,
        pruned: 0,
        tree_heads: 0,
    };
    let mut heads = Heads::default();
    let mut last_good = 0u64;
    let mut looked_again = false;
    loop {
        let page = store.scan(frontier.size(), PAGE).await?;
        if page.is_empty() {
            match heads.first_size(store).await? {
                None => break,
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
                        records: frontier.size(),
                    }
                    .into());
                }
            }
        }
        looked_again = false;
        for entry in page {
            let index = frontier.size();
            if entry.index != index {
                return Err(Tampered::Missing(index).into());
            }
            match &entry.body {
                Some(body) => {
                    let digest: [u8; 32] = Sha256::digest(body.as_bytes()).into();
                    if digest != entry.body_digest {
                        return Err(Tampered::BodyModified(index).into());
                    }
                }
                None if entry.expires_at > now => return Err(Tampered::PrunedEarly(index).into()),
                None => report.pruned += 1,
            }
            let leaf = leaf_hash(&leaf_input(index, entry.expires_at, &entry.body_digest));
            if leaf != entry.leaf_hash {
                return Err(Tampered::LeafModified(index).into());
            }
            frontier.push(leaf);
            report.records += 1;
            // Every head signed at this size must agree with the recomputed tree.
            loop {
                let Some(head) = heads.next_up_to(store, frontier.size()).await? else {
                    break;
                };
                if !head.verify(key) {
                    return Err(Tampered::BadSignature(head.size).into());
                }
                if head.size < frontier.size() {
                    // Only possible if a head's size was rewritten: its signature covers it.
                    return Err(Tampered::BadSignature(head.size).into());
                }
                if head.root != frontier.root() {
                    return Err(Tampered::RootMismatch {
                        from: last_good,
                        to: head.size - 1,
                        size: head.size,
                    }
                    .into());
                }
                last_good = head.size;
                report.tree_heads += 1;
            }
        }
    }
    if last_good < frontier.size() {
        return Err(Tampered::Unsigned(last_good).into());
    }
    Ok(report)
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
