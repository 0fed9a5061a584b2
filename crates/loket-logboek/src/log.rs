//! `Logboek`: one organisation's processing log. Appends go through one writer task that
//! commits whatever has queued up in one transaction (group commit) and signs the new
//! tree head in it; an append returns only when its records are durable.

use std::collections::HashMap;
use std::sync::Arc;

use loket_core::Clock;
use loket_store::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::keys::{LogKeys, VerifyingKey};
use crate::merkle::{self, Frontier, Hash, NodeId, Wanted};
use crate::record::{Entry, NewRecord};
use crate::store::{Batch, Filter, LogStore};
use crate::tree_head::SignedTreeHead;
use crate::{Activities, PseudonymKey};

/// The most records one transaction takes; more wait for the next one.
const MAX_BATCH: usize = 8192;
/// Appends waiting for the writer before callers get back-pressure.
const QUEUE: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the processing log cannot store records: {0}")]
    Store(#[from] StoreError),
    #[error("the processing log is not running")]
    Stopped,
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the stored tree does not match its last signed head")]
    Inconsistent,
}

struct Job {
    records: Vec<NewRecord>,
    done: oneshot::Sender<Result<Vec<u64>, String>>,
}

/// A handle to a running log; cheap to clone.
#[derive(Clone)]
pub struct Logboek {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    store: Arc<dyn LogStore>,
    queue: mpsc::Sender<Job>,
    pseudonyms: PseudonymKey,
    verifying_key: VerifyingKey,
    activities: Arc<Activities>,
}

impl std::fmt::Debug for Logboek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logboek")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Logboek {
    /// Start the log's writer over `store`, continuing the tree it already holds.
    pub async fn start(
        name: &str,
        store: Arc<dyn LogStore>,
        keys: LogKeys,
        activities: Arc<Activities>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LogError> {
        let frontier = load_frontier(store.as_ref(), &keys.verifying_key()).await?;
        let (queue, jobs) = mpsc::channel(QUEUE);
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            store: store.clone(),
            queue,
            pseudonyms: keys.pseudonyms.clone(),
            verifying_key: keys.verifying_key(),
            activities: activities.clone(),
        });
        tokio::spawn(
            Writer {
                store,
                keys,
                activities,
                clock,
                frontier,
            }
            .run(jobs),
        );
        Ok(Self { inner })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn pseudonyms(&self) -> &PseudonymKey {
        &self.inner.pseudonyms
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.inner.verifying_key
    }

    pub fn activities(&self) -> &Activities {
        &self.inner.activities
    }

    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.inner.store
    }

    /// Append records; returns their indexes once they are committed to disk.
    pub async fn append(&self, records: Vec<NewRecord>) -> Result<Vec<u64>, LogError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (done, result) = oneshot::channel();
        self.inner
            .queue
            .send(Job { records, done })
            .await
            .map_err(|_| LogError::Stopped)?;
        match result.await {
            Ok(Ok(indexes)) => Ok(indexes),
            Ok(Err(message)) => Err(LogError::Store(StoreError::Corrupt(message))),
            Err(_) => Err(LogError::Stopped),
        }
    }

    pub async fn latest_head(&self) -> Result<Option<SignedTreeHead>, LogError> {
        Ok(self.inner.store.latest_head().await?)
    }

    pub async fn query(&self, filter: &Filter) -> Result<Vec<Entry>, LogError> {
        Ok(self.inner.store.query(filter).await?)
    }

    /// The audit path of record `index` in the tree of `size` records.
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Option<Vec<Hash>>, LogError> {
        self.with_nodes(|nodes| merkle::inclusion_proof(nodes, index, size))
            .await
    }

    /// The proof that the tree of `first` records is a prefix of the tree of `second`.
    pub async fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Option<Vec<Hash>>, LogError> {
        self.with_nodes(|nodes| merkle::consistency_proof(nodes, first, second))
            .await
    }

    /// Run a proof twice: once to learn which nodes it reads, then over those nodes
    /// fetched in one query.
    async fn with_nodes<T>(
        &self,
        proof: impl Fn(&mut dyn merkle::Nodes) -> T,
    ) -> Result<T, LogError> {
        let mut wanted = Wanted::default();
        let _ = proof(&mut wanted);
        let mut fetched: HashMap<NodeId, Hash> = self.inner.store.nodes(&wanted.0).await?;
        if wanted.0.iter().any(|id| !fetched.contains_key(id)) {
            return Err(LogError::Inconsistent);
        }
        Ok(proof(&mut fetched))
    }

    /// Drop the bodies of expired records (the tree keeps their leaves).
    pub async fn prune(&self, now_unix: i64) -> Result<u64, LogError> {
        let mut total = 0;
        loop {
            let pruned = self.inner.store.prune(now_unix, 10_000).await?;
            total += pruned;
            if pruned < 10_000 {
                return Ok(total);
            }
        }
    }
}

/// Rebuild the right edge of the tree from the stored nodes, and check it against the
/// last signed head: a log whose tail was tampered with does not start.
async fn load_frontier(store: &dyn LogStore, key: &VerifyingKey) -> Result<Frontier, LogError> {
    let Some(head) = store.latest_head().await? else {
        return Ok(Frontier::new());
    };
    let ids = merkle::edge_nodes(head.size);
    let nodes = store.nodes(&ids).await?;
    let hashes: Option<Vec<Hash>> = ids.iter().map(|id| nodes.get(id).copied()).collect();
    let frontier = hashes
        .and_then(|hashes| Frontier::from_edge(head.size, hashes))
        .ok_or(LogError::Inconsistent)?;
    if frontier.root() != head.root || !head.verify(key) {
        return Err(LogError::Inconsistent);
    }
    Ok(frontier)
}

struct Writer {
    store: Arc<dyn LogStore>,
    keys: LogKeys,
    activities: Arc<Activities>,
    clock: Arc<dyn Clock>,
    frontier: Frontier,
}

impl Writer {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        let mut waiting: Vec<Job> = Vec::new();
        while let Some(first) = jobs.recv().await {
            let mut count = first.records.len();
            waiting.push(first);
            // Everything that queued while the last commit ran goes into this one.
            while count < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => {
                        count += job.records.len();
                        waiting.push(job);
                    }
                    Err(_) => break,
                }
            }
            let outcome = self.commit(&waiting).await;
            for (job, indexes) in waiting.drain(..).zip(outcome.split()) {
                let _ = job.done.send(indexes);
            }
        }
    }

    async fn commit(&mut self, jobs: &[Job]) -> Outcome {
        let mut frontier = self.frontier.clone();
        let mut batch = Batch::default();
        let mut ranges = Vec::with_capacity(jobs.len());
        for job in jobs {
            let first = frontier.size();
            for record in &job.records {
                let expires = record.end
                    + self
                        .activities
                        .retention(record.processing_activity_id.as_deref());
                let entry = match Entry::new(frontier.size(), record, expires.unix_timestamp()) {
                    Ok(entry) => entry,
                    Err(error) => return Outcome::Failed(error.to_string(), jobs.len()),
                };
                batch.nodes.extend(frontier.push(entry.leaf_hash));
                batch.entries.push(entry);
            }
            ranges.push(first..frontier.size());
        }
        let now = crate::record::millis(self.clock.now());
        batch.head = Some(SignedTreeHead::sign(
            &self.keys,
            frontier.size(),
            frontier.root(),
            now,
        ));
        match self.store.append(&batch).await {
            Ok(()) => {
                self.frontier = frontier;
                Outcome::Committed(ranges)
            }
            Err(error) => {
                tracing::error!(%error, "the processing log could not commit a batch");
                Outcome::Failed(error.to_string(), jobs.len())
            }
        }
    }
}

enum Outcome {
    Committed(Vec<std::ops::Range<u64>>),
    Failed(String, usize),
}

impl Outcome {
    fn split(self) -> Vec<Result<Vec<u64>, String>> {
        match self {
            Self::Committed(ranges) => ranges.into_iter().map(|r| Ok(r.collect())).collect(),
            Self::Failed(message, jobs) => vec![Err(message); jobs],
        }
    }
}
