//! `Logboek`: one organisation's processing log. Appends go through one writer (on SQLite
//! a thread of its own, on Postgres a task) that commits whatever has queued up in one
//! transaction (group commit); an append returns only when its records are durable. The
//! writer signs a tree head over them within [`HEAD_INTERVAL`], in a commit that goes to
//! disk anyway when appends keep coming, and at once for whoever asks for the head through
//! [`Logboek::latest_head`] (the read API lets only readers with a token do so).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use loket_core::Clock;
use loket_store::StoreError;
use tokio::sync::{mpsc, oneshot, watch};

use crate::head_file::{HeadFile, HeadFileError, HeadKeeper};
use crate::keys::{LogKeys, VerifyingKey};
use crate::merkle::{self, Frontier, Hash, NodeId, Wanted};
use crate::metrics::{CommitMetrics, LogMetrics};
use crate::record::{Entry, NewRecord};
use crate::store::{Batch, Filter, LogStore, bucket_end};
use crate::tail::Tail;
use crate::tree_head::SignedTreeHead;
use crate::tree_nodes::{kept, tree_nodes};
use crate::verify::recomputed_leaf;
use crate::{Activities, PseudonymKey};

/// The most records one transaction takes; more wait for the next one.
const MAX_BATCH: usize = 8192;
/// Appends waiting for the writer before callers get back-pressure.
const QUEUE: usize = 4096;
/// Lookup-table rows the writer puts in while no append is waiting, in a transaction that
/// does not wait for the disk: small, since an append that arrives meanwhile waits for
/// it. The rows used to ride on the commits callers wait for (nine for every four records)
/// and kept the exchange's p99 up for the half minute a bucket took at 1,000 requests a
/// second (BENCHMARKS.md, the exchange).
const IDLE_PIECE_ROWS: usize = 64;
/// The pause after each such piece. "Idle" is the writer's view: back to back, the two
/// logs' writers filled both cores with pieces, each took 2–8 ms instead of 0.25, and the
/// requests waited for a core. At a piece every 2 ms a bucket's 131,072 rows take 4 s.
const IDLE_PIECE_PAUSE: Duration = Duration::from_millis(2);
/// How long the writer leaves the lookup tables alone after a piece failed to commit.
const IDLE_PIECE_RETRY: Duration = Duration::from_secs(1);
/// How often the writer compares the lookup tables' stored position
/// (`index_state.indexed_upto`) with its own. Whoever lowers it and deletes the rows
/// below hides those records from an inzage, and `verify` expects no rows above it; the
/// writer reads them from the records again within this time.
const POSITION_CHECK: Duration = Duration::from_secs(2);
/// How soon the writer looks again whether a commit that reported an error landed, when
/// the store could not say.
const UNSURE_RETRY: Duration = Duration::from_millis(100);
/// A writer that is seldom idle (appends queue up as fast as it commits) is behind once
/// half of the next bucket is appended and this one is still not in; at 1,000 exchange
/// requests a second that is 16 s, where idle moments take a second or two. Pieces then
/// ride on the commits, nine rows for every four
/// records (each record gives at most two: a subject and a trace), so the indexing gains
/// on the appends. Proportional, so a commit a caller waits for with one or two records
/// in it stays small: a fixed piece of 1,024 rows took 6 ms on a loaded machine.
const RIDE_FROM: u64 = (1 << 16) + (1 << 15);
const INDEX_ROWS_PER_FOUR_RECORDS: usize = 9;
/// A tail longer than three buckets is far behind (after a restart, or commits that
/// failed): commits then take bigger pieces until it has caught up.
const TAIL_BEHIND: u64 = 3 << 16;
const INDEX_ROWS_CATCH_UP: usize = 1024;
/// Records from the tail the store checks in one query.
const CANDIDATES_PER_QUERY: usize = 500;
/// How long records that nobody waits for wait for a commit that someone does wait for.
const LINGER: Duration = Duration::from_millis(5);
/// How long a committed record may wait for a signed tree head over it. Signing every
/// commit (Ed25519 and one more page in the transaction) cost about 15% of the log
/// writer's CPU at 1,000 exchange requests a second (BENCHMARKS.md); a head every 100 ms
/// is ten signatures a second, whatever the load.
pub const HEAD_INTERVAL: Duration = Duration::from_millis(100);

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
    #[error(
        "record {0}, committed after the last signed tree head, does not match its digests or the tree stored with it"
    )]
    TailTampered(u64),
    #[error(
        "the log signed a tree head over {signed} records ({file}), but its database no longer holds that head: heads were removed, and the records after the last one left may have been rewritten. If the database was restored from a backup, remove {file} to accept it as it is"
    )]
    HeadsRemoved {
        signed: u64,
        file: std::path::PathBuf,
    },
    #[error(transparent)]
    HeadFile(#[from] HeadFileError),
}

struct Job {
    records: Vec<NewRecord>,
    /// A caller waits for these records before it goes on.
    urgent: bool,
    /// Sign a tree head over everything committed, in this commit.
    seal: bool,
    /// Where the outcome goes; `None` for records appended in the background, whose
    /// failure the writer reports itself.
    done: Option<oneshot::Sender<Result<Vec<u64>, String>>>,
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
    tail: Arc<RwLock<Tail>>,
    /// Set once the process reports metrics; shared with the writer.
    metrics: Arc<OnceLock<CommitMetrics>>,
    /// What "expired" is measured against when the log prunes itself.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Logboek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logboek")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Logboek {
    /// Start the log's writer over `store`, continuing the tree it already holds. The
    /// writer signs a tree head at most `head_interval` after a commit
    /// ([`HEAD_INTERVAL`]; zero: in every commit). Records a stopped log had not signed
    /// yet are checked against their content and signed first.
    pub async fn start(
        name: &str,
        store: Arc<dyn LogStore>,
        keys: LogKeys,
        activities: Arc<Activities>,
        clock: Arc<dyn Clock>,
        head_interval: Duration,
    ) -> Result<Self, LogError> {
        if let Some(file) = keys.head_file() {
            check_head_file(store.as_ref(), file, &keys.verifying_key()).await?;
        }
        let last_head = store.latest_head().await?;
        let (frontier, signed_size) =
            load_frontier(store.as_ref(), last_head.as_ref(), &keys.verifying_key()).await?;
        let tail = Arc::new(RwLock::new(load_tail(store.as_ref()).await?));
        let (queue, jobs) = mpsc::channel(QUEUE);
        let metrics = Arc::new(OnceLock::new());
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            store: store.clone(),
            queue,
            pseudonyms: keys.pseudonyms.clone(),
            verifying_key: keys.verifying_key(),
            activities: activities.clone(),
            tail: tail.clone(),
            metrics: metrics.clone(),
            clock: clock.clone(),
        });
        let blocking = store.appends_blocking();
        let head_file = keys.head_file().cloned().map(HeadKeeper::start);
        // A log from before the head file, or one whose file lags: the file catches up.
        if let (Some(file), Some(head)) = (&head_file, &last_head) {
            file.later(head);
        }
        let writer = Writer {
            name: name.to_owned(),
            store,
            keys,
            activities,
            clock,
            frontier,
            tail,
            indexing: Indexing::Idle,
            blocking,
            background: tokio::runtime::Handle::current(),
            signed_size,
            signed_at: tokio::time::Instant::now(),
            head_interval,
            idle_pieces_from: tokio::time::Instant::now(),
            position_checked_at: tokio::time::Instant::now(),
            position: None,
            lowered_to: None,
            metrics,
            head_file,
            last_head,
            unsure: None,
        };
        if blocking {
            // A thread of its own, which commits itself: an append then costs one wake-up
            // of this thread and one of the caller, instead of two more for a hand-off to
            // the store's writer thread and back (BENCHMARKS.md, the exchange).
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|error| StoreError::Unavailable(error.to_string()))?;
            std::thread::Builder::new()
                .name("logboek-writer".to_owned())
                .spawn(move || runtime.block_on(writer.run(jobs)))
                .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        } else {
            tokio::spawn(writer.run(jobs));
        }
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

    /// The log's clock, for what its API checks against the time.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.inner.store
    }

    /// Report how long appends wait and commits take to `metrics`, under this log's
    /// name, from now on. Only the first call counts.
    pub fn report_to(&self, metrics: &LogMetrics) {
        let _ = self.inner.metrics.set(metrics.of(&self.inner.name));
    }

    /// Append records; returns their indexes once they are committed to disk.
    pub async fn append(&self, records: Vec<NewRecord>) -> Result<Vec<u64>, LogError> {
        self.enqueue(records, true).await
    }

    /// Append records that no one waits for before going on (an answer's records when
    /// the request's durable records already named its subjects): they join the next
    /// commit someone does wait for, or get one of their own after a few milliseconds,
    /// instead of holding up the next urgent append with a commit of their own. Returns
    /// once they are on disk, like [`Logboek::append`].
    pub async fn append_unhurried(&self, records: Vec<NewRecord>) -> Result<Vec<u64>, LogError> {
        self.enqueue(records, false).await
    }

    /// [`Logboek::append_unhurried`] without waiting for the outcome: no task of its own
    /// to wake when the records are on disk. A commit that fails is reported by the
    /// writer, as an error naming the records it could not keep.
    pub fn append_in_background(&self, records: Vec<NewRecord>) {
        if records.is_empty() {
            return;
        }
        let job = Job {
            records,
            urgent: false,
            seal: false,
            done: None,
        };
        match self.inner.queue.try_send(job) {
            Ok(()) => {}
            // A full queue: wait for room beside the caller rather than drop records.
            Err(mpsc::error::TrySendError::Full(job)) => {
                let queue = self.inner.queue.clone();
                let metrics = self.inner.metrics.clone();
                tokio::spawn(async move {
                    if let Err(mpsc::error::SendError(job)) = queue.send(job).await {
                        stopped_before(&metrics, &job);
                    }
                });
            }
            Err(mpsc::error::TrySendError::Closed(job)) => {
                stopped_before(&self.inner.metrics, &job);
            }
        }
    }

    async fn enqueue(&self, records: Vec<NewRecord>, urgent: bool) -> Result<Vec<u64>, LogError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (done, result) = oneshot::channel();
        let queued = Instant::now();
        self.inner
            .queue
            .send(Job {
                records,
                urgent,
                seal: false,
                done: Some(done),
            })
            .await
            .map_err(|_| LogError::Stopped)?;
        match result.await {
            Ok(Ok(indexes)) => {
                // What a caller that cannot go on without its records waits.
                if urgent && let Some(metrics) = self.inner.metrics.get() {
                    metrics.wait.observe(queued.elapsed().as_secs_f64());
                }
                Ok(indexes)
            }
            Ok(Err(message)) => Err(LogError::Store(StoreError::Corrupt(message))),
            Err(_) => Err(LogError::Stopped),
        }
    }

    /// The newest signed tree head, covering every record committed before the call.
    pub async fn latest_head(&self) -> Result<Option<SignedTreeHead>, LogError> {
        self.seal().await?;
        Ok(self.inner.store.latest_head().await?)
    }

    /// The newest head the log has signed, without signing one: it may leave out the
    /// records of the last [`HEAD_INTERVAL`].
    pub async fn newest_signed_head(&self) -> Result<Option<SignedTreeHead>, LogError> {
        Ok(self.inner.store.latest_head().await?)
    }

    /// Sign a tree head over every record committed so far, unless one already covers
    /// them: for a reader who asks for the head, and when the log stops.
    pub async fn seal(&self) -> Result<(), LogError> {
        let (done, result) = oneshot::channel();
        self.inner
            .queue
            .send(Job {
                records: Vec::new(),
                urgent: true,
                seal: true,
                done: Some(done),
            })
            .await
            .map_err(|_| LogError::Stopped)?;
        match result.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(message)) => Err(LogError::Store(StoreError::Corrupt(message))),
            Err(_) => Err(LogError::Stopped),
        }
    }

    /// Records matching the filter, newest first. A lookup by subject or trace finds the
    /// newest records through the tail in memory, the rest through the lookup tables.
    pub async fn query(&self, filter: &Filter) -> Result<Vec<Entry>, LogError> {
        if filter.subject.is_none() && filter.trace_id.is_none() {
            return Ok(self.inner.store.query(filter).await?);
        }
        let (candidates, indexed_upto) = {
            let tail = self.tail();
            let candidates = tail.candidates(
                filter.subject.as_deref(),
                filter.trace_id.as_deref(),
                filter.before,
            );
            (candidates, tail.from())
        };
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        let mut found = Vec::new();
        for among in candidates.chunks(CANDIDATES_PER_QUERY) {
            found.extend(self.inner.store.query_among(filter, among).await?);
            if found.len() >= limit {
                found.truncate(limit);
                return Ok(found);
            }
        }
        let rest = Filter {
            before: Some(filter.before.map_or(indexed_upto, |b| b.min(indexed_upto))),
            limit: u32::try_from(limit - found.len()).unwrap_or(u32::MAX),
            ..filter.clone()
        };
        found.extend(self.inner.store.query(&rest).await?);
        Ok(found)
    }

    /// Every record below this one is in the lookup tables; newer ones are in memory.
    pub fn indexed_upto(&self) -> u64 {
        self.tail().from()
    }

    fn tail(&self) -> std::sync::RwLockReadGuard<'_, Tail> {
        // The tail is only changed by plain pushes and drops; one interrupted by a panic
        // leaves it usable.
        self.inner
            .tail
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let mut fetched: HashMap<NodeId, Hash> = tree_nodes(&*self.inner.store, &wanted.0).await?;
        if wanted.0.iter().any(|id| !fetched.contains_key(id)) {
            return Err(LogError::Inconsistent);
        }
        Ok(proof(&mut fetched))
    }

    /// Retention in a running system: prune now, then every `every`, until `stop` says
    /// so (or its sender is gone). A pass that fails is reported and tried at the next.
    pub async fn prune_until(&self, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            match self.prune(self.inner.clock.now().unix_timestamp()).await {
                Ok(0) => {}
                Ok(pruned) => {
                    tracing::info!(log = %self.inner.name, pruned, "expired records pruned");
                }
                Err(error) => {
                    tracing::warn!(log = %self.inner.name, %error, "cannot prune expired records; trying again later");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
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

/// Rebuild the right edge of the tree from the stored nodes and check it against the
/// last signed head (`last_head`, the store's newest), then add the records committed after that head (a log that stopped
/// before it signed them), each recomputed from its content as `verify` does: a log
/// whose tail was tampered with does not start. Returns the tree and the signed size.
async fn load_frontier(
    store: &dyn LogStore,
    last_head: Option<&SignedTreeHead>,
    key: &VerifyingKey,
) -> Result<(Frontier, u64), LogError> {
    let mut frontier = match last_head {
        None => Frontier::new(),
        Some(head) => {
            let ids = merkle::edge_nodes(head.size);
            let nodes = tree_nodes(store, &ids).await?;
            let hashes: Option<Vec<Hash>> = ids.iter().map(|id| nodes.get(id).copied()).collect();
            let frontier = hashes
                .and_then(|hashes| Frontier::from_edge(head.size, hashes))
                .ok_or(LogError::Inconsistent)?;
            if frontier.root() != head.root || !head.verify(key) {
                return Err(LogError::Inconsistent);
            }
            frontier
        }
    };
    let signed = frontier.size();
    let mut completed = Vec::new();
    loop {
        let page = store.scan(frontier.size(), 10_000).await?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            let index = frontier.size();
            if entry.index != index {
                return Err(LogError::TailTampered(index));
            }
            let leaf = recomputed_leaf(&entry).map_err(|_| LogError::TailTampered(index))?;
            completed.extend(kept(frontier.push(leaf)));
        }
    }
    for chunk in completed.chunks(1000) {
        let ids: Vec<NodeId> = chunk.iter().map(|(id, _)| *id).collect();
        let stored = store.nodes(&ids).await?;
        if let Some(((_, index), _)) = chunk.iter().find(|(id, hash)| stored.get(id) != Some(hash))
        {
            return Err(LogError::TailTampered(*index));
        }
    }
    Ok((frontier, signed))
}

/// The database must still hold the newest head the log wrote to its head file.
async fn check_head_file(
    store: &dyn LogStore,
    file: &HeadFile,
    key: &VerifyingKey,
) -> Result<(), LogError> {
    let known = match file.read(key) {
        Ok(Some(known)) => known,
        Ok(None) => return Ok(()),
        // Damaged in a crash (the file is not synced): the database's heads decide, and
        // the writer puts the newest one in the file. Only someone who holds the signing
        // key could make a file that reads, so a damaged one weakens nothing.
        Err(HeadFileError::Invalid(path)) => {
            tracing::warn!(file = %path.display(), "the head file beside the log's keys is damaged; the log goes on from its database's heads and writes a new one");
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    match store.head(known.size).await? {
        Some(stored) if stored == known => Ok(()),
        _ => Err(LogError::HeadsRemoved {
            signed: known.size,
            file: file.path().to_owned(),
        }),
    }
}

/// The subjects and traces of the records not yet in the lookup tables, from the store.
async fn load_tail(store: &dyn LogStore) -> Result<Tail, LogError> {
    load_tail_from(store, store.indexed_upto().await?).await
}

/// The subjects and traces of the records from `from` on, from the store.
async fn load_tail_from(store: &dyn LogStore, from: u64) -> Result<Tail, LogError> {
    let mut tail = Tail::new(from);
    for (index, subject, trace) in store.lookup_keys(from).await? {
        tail.push(index, subject.as_deref(), trace.as_deref());
    }
    Ok(tail)
}

/// Records appended in the background that the log, stopped, will never take.
fn stopped_before(metrics: &OnceLock<CommitMetrics>, job: &Job) {
    tracing::error!(
        records = job.records.len(),
        "the processing log stopped before records appended in the background reached it"
    );
    count_lost(metrics, job.records.len());
}

/// Background records that will never be in the log, for the metrics.
fn count_lost(metrics: &OnceLock<CommitMetrics>, records: usize) {
    if let Some(metrics) = metrics.get() {
        metrics.lost.inc_by(records as u64);
    }
}

struct Writer {
    /// The log's name, for what the writer reports.
    name: String,
    store: Arc<dyn LogStore>,
    keys: LogKeys,
    activities: Arc<Activities>,
    clock: Arc<dyn Clock>,
    frontier: Frontier,
    tail: Arc<RwLock<Tail>>,
    indexing: Indexing,
    /// Commits on this thread ([`LogStore::append_blocking`]): the writer has a thread
    /// of its own.
    blocking: bool,
    /// The runtime that started the log, where the writer sends work beside its
    /// commits. Not the writer's own thread: under a steady flood of appends it never
    /// waits, so a task spawned there ran only every 128 commits (tokio's budget), and
    /// the lookup tables fell behind (1 of 30 buckets indexed after 2,000,000 records,
    /// the rest held in memory).
    background: tokio::runtime::Handle,
    /// The size of the tree the newest signed head covers, and when it was signed.
    signed_size: u64,
    signed_at: tokio::time::Instant,
    head_interval: Duration,
    /// When the writer may next put lookup-table rows in while idle: a pause after each
    /// piece, a longer one after a piece failed.
    idle_pieces_from: tokio::time::Instant,
    /// When the writer last asked for the lookup tables' stored position.
    position_checked_at: tokio::time::Instant,
    /// That position being read beside the writer (off its path: the read waits for a
    /// connection of the pool the inzage reads share), with the writer's own position
    /// when it asked. The stored one only moves up from there, the writer's doing.
    position: Option<(u64, oneshot::Receiver<Result<u64, StoreError>>)>,
    /// Found lowered to this: the tail is read again from here once nothing is unsure.
    lowered_to: Option<u64>,
    metrics: Arc<OnceLock<CommitMetrics>>,
    /// Keeps the newest committed head in the file beside the keys.
    head_file: Option<HeadKeeper>,
    /// The newest head committed.
    last_head: Option<SignedTreeHead>,
    /// A batch whose commit reported an error. The error may have come after the commit
    /// itself (a connection lost before its answer): the next commit first looks whether
    /// it landed, so the writer neither numbers new records over it nor forgets it.
    unsure: Option<Unsure>,
}

/// A batch whose commit may or may not have landed, with what the writer would have
/// become had it landed.
struct Unsure {
    batch: Arc<Batch>,
    frontier: Frontier,
    piece: usize,
    /// Its records appended in the background: lost if it did not land.
    background: usize,
}

/// Moving a complete bucket of the tail into the lookup tables.
enum Indexing {
    Idle,
    /// The store is sorting the bucket's records into key order.
    Sorting(oneshot::Receiver<Result<Run, StoreError>>),
    Writing(Run),
    /// The store is indexing the bucket below `end` in a transaction of its own.
    Beside {
        end: u64,
        result: oneshot::Receiver<Result<(), StoreError>>,
    },
}

/// A complete bucket's records in the order they go into the lookup tables.
struct Run {
    from: u64,
    end: u64,
    subjects: Vec<u64>,
    traces: Vec<u64>,
    /// How many of `subjects` and then `traces` are committed.
    done: usize,
}

/// What ends the writer's wait while no job is queued.
enum Idle {
    Job(Option<Job>),
    HeadDue,
    PiecesDue,
    PositionDue,
    /// The stored lookup position came back, with the writer's own at asking.
    PositionAnswered(
        u64,
        Result<Result<u64, StoreError>, oneshot::error::RecvError>,
    ),
    Sorted(Option<Result<Run, StoreError>>),
    IndexedBeside(Option<Result<(), StoreError>>),
}

impl Run {
    /// The next piece of `rows` rows: (subjects, traces, whether it is the last).
    fn piece(&self, rows: usize) -> (Vec<u64>, Vec<u64>, bool) {
        let total = self.subjects.len() + self.traces.len();
        let until = (self.done + rows).min(total);
        let split = self.subjects.len();
        let subjects = self.subjects[self.done.min(split)..until.min(split)].to_vec();
        let traces = self.traces[self.done.max(split) - split..until.max(split) - split].to_vec();
        (subjects, traces, until == total)
    }
}

impl Writer {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        if self.frontier.size() > self.signed_size {
            tracing::warn!(
                log = %self.name,
                records = self.frontier.size(),
                signed = self.signed_size,
                "the log stopped before it signed its newest records; they match their content and are signed now"
            );
            self.sign_tail().await;
        }
        let mut waiting: Vec<Job> = Vec::new();
        loop {
            let Some(first) = self.next_job(&mut jobs).await else {
                break;
            };
            let mut count = first.records.len();
            let mut urgent = first.urgent;
            waiting.push(first);
            // Everything that queued while the last commit ran goes into this one.
            while count < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => {
                        count += job.records.len();
                        urgent |= job.urgent;
                        waiting.push(job);
                    }
                    Err(_) => break,
                }
            }
            // Nobody waits for these: give an urgent append a moment to share the commit.
            let deadline = tokio::time::Instant::now() + LINGER;
            while !urgent && count < MAX_BATCH {
                match tokio::time::timeout_at(deadline, jobs.recv()).await {
                    Ok(Some(job)) => {
                        count += job.records.len();
                        urgent = job.urgent;
                        waiting.push(job);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let seal = waiting.iter().any(|job| job.seal);
            let outcome = self.commit(&waiting, seal).await;
            // A commit that may have landed counts its background records as lost only
            // once the writer knows it did not (`settle_unsure`).
            let may_have_landed = matches!(outcome, Outcome::Unsure(..));
            if seal {
                // Whoever seals (a reader of the newest head, a log that stops) finds
                // the file as far as the database.
                self.keep_head_file_now().await;
            }
            for (job, indexes) in waiting.drain(..).zip(outcome.split()) {
                match (job.done, indexes) {
                    (Some(done), indexes) => {
                        let _ = done.send(indexes);
                    }
                    (None, Err(error)) if may_have_landed => tracing::warn!(
                        log = %self.name,
                        %error,
                        records = job.records.len(),
                        "records appended in the background may not have been committed; the writer looks before its next commit"
                    ),
                    (None, Err(error)) => {
                        tracing::error!(
                            log = %self.name,
                            %error,
                            records = job.records.len(),
                            "records appended in the background could not be committed"
                        );
                        count_lost(&self.metrics, job.records.len());
                    }
                    (None, Ok(_)) => {}
                }
            }
        }
        // Every handle is gone: sign what is left.
        if self.frontier.size() > self.signed_size {
            self.sign_tail().await;
        }
    }

    /// The next job, or `None` once every handle is gone. While none is waiting: pick up
    /// a sorted bucket, put the next piece of it into the lookup tables, and sign the
    /// newest records once their head is due.
    async fn next_job(&mut self, jobs: &mut mpsc::Receiver<Job>) -> Option<Job> {
        loop {
            // Also under a steady flood of appends, when the writer is never idle.
            self.check_position().await;
            match jobs.try_recv() {
                Ok(job) => return Some(job),
                Err(mpsc::error::TryRecvError::Disconnected) => return None,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            // Nothing of its own (a piece, a head) until the writer knows whether its
            // last commit landed: a piece or a head now would build on a guess.
            if self.unsure.is_some() && self.settle_unsure().await.is_err() {
                tokio::select! {
                    job = jobs.recv() => return job,
                    () = tokio::time::sleep(UNSURE_RETRY) => continue,
                }
            }
            self.advance_indexing();
            let pieces_due = self.idle_pieces_from <= tokio::time::Instant::now();
            if pieces_due && matches!(self.indexing, Indexing::Writing(_)) {
                self.write_idle_piece().await;
                continue;
            }
            let unsigned = self.frontier.size() > self.signed_size;
            let head_due = self.signed_at + self.head_interval;
            let pieces_at = self.idle_pieces_from;
            let writing = matches!(self.indexing, Indexing::Writing(_));
            // While the position is being read, its answer wakes the writer; otherwise the
            // time to ask again does.
            let asking = self.position.is_none();
            let position_due = self.position_checked_at + POSITION_CHECK;
            let event = {
                let (indexing, position) = (&mut self.indexing, &mut self.position);
                let finished = async {
                    match indexing {
                        Indexing::Sorting(result) => Idle::Sorted(result.await.ok()),
                        Indexing::Beside { result, .. } => Idle::IndexedBeside(result.await.ok()),
                        _ => std::future::pending().await,
                    }
                };
                let answered = async {
                    match position {
                        Some((own, answer)) => Idle::PositionAnswered(*own, answer.await),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    job = jobs.recv() => Idle::Job(job),
                    () = tokio::time::sleep_until(head_due), if unsigned => Idle::HeadDue,
                    () = tokio::time::sleep_until(pieces_at), if writing => Idle::PiecesDue,
                    () = tokio::time::sleep_until(position_due), if asking => Idle::PositionDue,
                    event = answered => event,
                    event = finished => event,
                }
            };
            match event {
                Idle::Job(job) => return job,
                Idle::HeadDue => self.sign_tail().await,
                Idle::PiecesDue | Idle::PositionDue => {}
                Idle::PositionAnswered(own, answer) => {
                    self.position = None;
                    if self.position_answered(own, answer) {
                        self.read_tail_again().await;
                    }
                }
                Idle::Sorted(outcome) => self.sorted(outcome),
                Idle::IndexedBeside(outcome) => self.indexed_beside(outcome),
            }
        }
    }

    /// Read the lookup tables' stored position beside the writer.
    fn ask_position(&mut self) {
        let own = self
            .tail
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .from();
        let (done, answer) = oneshot::channel();
        let store = self.store.clone();
        self.background.spawn(async move {
            let _ = done.send(store.indexed_upto().await);
        });
        self.position = Some((own, answer));
    }

    /// Whether the lookup tables' stored position is where the writer left it: ask every
    /// [`POSITION_CHECK`], take the answer once it is there (an idle writer is woken by
    /// it; a busy one looks here before each job). Lowered, the records above it may have
    /// lost their rows (tampering: a running log would not show them in an inzage, and
    /// `verify` expects no rows there); the tail is read again from the records from
    /// there, as at a start, and those buckets go into the lookup tables again.
    async fn check_position(&mut self) {
        let read_again = if let Some((own, answer)) = &mut self.position {
            let own = *own;
            match answer.try_recv() {
                Err(oneshot::error::TryRecvError::Empty) => false,
                Ok(stored) => {
                    self.position = None;
                    self.position_answered(own, Ok(stored))
                }
                Err(oneshot::error::TryRecvError::Closed) => {
                    self.position = None;
                    false
                }
            }
        } else if self.position_checked_at.elapsed() >= POSITION_CHECK {
            self.position_checked_at = tokio::time::Instant::now();
            // Found lowered but not read again yet (a commit was unsure, or the read
            // failed): try that again, rather than ask again.
            if self.lowered_to.is_some() {
                true
            } else {
                self.ask_position();
                false
            }
        } else {
            false
        };
        if read_again {
            self.read_tail_again().await;
        }
    }

    /// Take the stored position's answer (`own`: the writer's position when it asked);
    /// returns whether the tail must be read again.
    fn position_answered(
        &mut self,
        own: u64,
        answer: Result<Result<u64, StoreError>, oneshot::error::RecvError>,
    ) -> bool {
        match answer {
            Ok(Ok(stored)) if stored < own => {
                tracing::error!(
                    log = %self.name, stored, own,
                    "the position of the log's lookup tables was lowered behind its back (tampering?): the records above it are read again from the records themselves"
                );
                if let Some(metrics) = self.metrics.get() {
                    metrics.lowered.inc();
                }
                self.lowered_to = Some(stored);
                true
            }
            Ok(Ok(_)) | Err(_) => false,
            Ok(Err(error)) => {
                tracing::warn!(log = %self.name, %error, "cannot read the position of the lookup tables");
                false
            }
        }
    }

    /// Read the tail again from the records, from where the position was found lowered.
    async fn read_tail_again(&mut self) {
        // Not while a commit is unsure: settling it may drop records from the tail.
        let (Some(from), None) = (self.lowered_to, &self.unsure) else {
            return;
        };
        match load_tail_from(self.store.as_ref(), from).await {
            Ok(tail) => {
                let old = std::mem::replace(
                    &mut *self
                        .tail
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                    tail,
                );
                self.background.spawn_blocking(move || drop(old));
                // A bucket on its way in starts again from the new tail.
                self.indexing = Indexing::Idle;
                self.lowered_to = None;
            }
            Err(error) => {
                tracing::warn!(log = %self.name, %error, "cannot read the records above the lookup tables; trying again");
            }
        }
    }

    /// The next piece of the bucket being indexed, in a transaction of its own that does
    /// not wait for the disk (the next commit's sync takes it along).
    async fn write_idle_piece(&mut self) {
        let Indexing::Writing(run) = &self.indexing else {
            return;
        };
        let (subjects, traces, last) = run.piece(IDLE_PIECE_ROWS);
        let rows = subjects.len() + traces.len();
        let batch = Batch {
            index_subjects: subjects,
            index_traces: traces,
            indexed_upto: last.then_some(run.end),
            indexed_from: run.from,
            unsynced: true,
            ..Batch::default()
        };
        let indexed_upto = batch.indexed_upto;
        let written = if self.blocking {
            self.store.append_blocking(&batch)
        } else {
            self.store.append(Arc::new(batch)).await
        };
        match written {
            Ok(()) => {
                self.piece_written(rows, indexed_upto);
                self.idle_pieces_from = tokio::time::Instant::now() + IDLE_PIECE_PAUSE;
            }
            Err(error) => {
                tracing::warn!(log = %self.name, %error, "cannot put records into the lookup tables; trying again");
                self.idle_pieces_from = tokio::time::Instant::now() + IDLE_PIECE_RETRY;
            }
        }
    }

    /// A piece of `rows` rows is committed; with `indexed_upto`, the bucket's last.
    fn piece_written(&mut self, rows: usize, indexed_upto: Option<u64>) {
        if let Some(upto) = indexed_upto {
            self.forget_below(upto);
            self.indexing = Indexing::Idle;
        } else if let Indexing::Writing(run) = &mut self.indexing {
            run.done += rows;
        }
    }

    /// Drop the tail's records below `upto` (they are in the lookup tables), and free
    /// them beside the writer: a bucket's maps are 65,536 allocations.
    fn forget_below(&mut self, upto: u64) {
        let forgotten = self
            .tail
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drop_below(upto);
        self.background.spawn_blocking(move || drop(forgotten));
    }

    /// The outcome of a bucket's sort: its pieces go in next, or it is tried again.
    fn sorted(&mut self, outcome: Option<Result<Run, StoreError>>) {
        self.indexing = match outcome {
            Some(Ok(run)) => Indexing::Writing(run),
            Some(Err(error)) => {
                tracing::warn!(log = %self.name, %error, "cannot sort a bucket for the lookup tables; trying again");
                Indexing::Idle
            }
            None => Indexing::Idle,
        };
    }

    /// The outcome of the store indexing a bucket beside the appends.
    fn indexed_beside(&mut self, outcome: Option<Result<(), StoreError>>) {
        let Indexing::Beside { end, .. } = self.indexing else {
            return;
        };
        match outcome {
            Some(Ok(())) => self.forget_below(end),
            Some(Err(error)) => {
                tracing::warn!(log = %self.name, %error, "cannot move a bucket into the lookup tables; trying again");
            }
            None => {}
        }
        self.indexing = Indexing::Idle;
    }

    /// Put the newest committed head in the file beside the keys now.
    async fn keep_head_file_now(&self) {
        let (Some(file), Some(head)) = (&self.head_file, &self.last_head) else {
            return;
        };
        if self.blocking {
            file.now(head);
        } else {
            let (file, head) = (file.clone(), head.clone());
            let _ = tokio::task::spawn_blocking(move || file.now(&head)).await;
        }
    }

    /// Commit a signed tree head over the records committed without one.
    async fn sign_tail(&mut self) {
        if let Outcome::Failed(error, _) | Outcome::Unsure(error, _) = self.commit(&[], true).await
        {
            tracing::error!(log = %self.name, %error, "cannot sign the log's tree head; trying again");
            // Try again in a second rather than at once: a store that fails keeps
            // failing for a while, and each attempt says so.
            self.signed_at = tokio::time::Instant::now() + Duration::from_secs(1);
        }
    }

    /// Once the oldest bucket of the tail is complete, start sorting it (its pieces then
    /// ride on the commits) or have the store index it beside the appends; pick up the
    /// outcome once it is there.
    fn advance_indexing(&mut self) {
        match &mut self.indexing {
            Indexing::Idle => {
                let from = self
                    .tail
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .from();
                let end = bucket_end(from);
                if self.frontier.size() < end {
                    return;
                }
                let store = self.store.clone();
                if store.indexes_beside_appends() {
                    let (done, result) = oneshot::channel();
                    self.background.spawn(async move {
                        let _ = done.send(store.index_bucket(from, end).await);
                    });
                    self.indexing = Indexing::Beside { end, result };
                    return;
                }
                let (done, result) = oneshot::channel();
                self.background.spawn(async move {
                    let run = store
                        .index_order(from, end)
                        .await
                        .map(|(subjects, traces)| Run {
                            from,
                            end,
                            subjects,
                            traces,
                            done: 0,
                        });
                    let _ = done.send(run);
                });
                self.indexing = Indexing::Sorting(result);
            }
            Indexing::Sorting(result) => match result.try_recv() {
                Ok(outcome) => self.sorted(Some(outcome)),
                Err(oneshot::error::TryRecvError::Empty) => {}
                Err(oneshot::error::TryRecvError::Closed) => self.sorted(None),
            },
            Indexing::Writing(_) => {}
            Indexing::Beside { result, .. } => match result.try_recv() {
                Ok(outcome) => self.indexed_beside(Some(outcome)),
                Err(oneshot::error::TryRecvError::Empty) => {}
                Err(oneshot::error::TryRecvError::Closed) => self.indexed_beside(None),
            },
        }
    }

    /// How many lookup-table rows the commit of `jobs` takes along.
    fn index_rows(&self, jobs: &[Job]) -> usize {
        let records: usize = jobs.iter().map(|job| job.records.len()).sum();
        let from = self
            .tail
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .from();
        index_rows(records, self.frontier.size().saturating_sub(from))
    }

    /// Commit `jobs` in one transaction, with a signed tree head when `seal` asks for one
    /// or the last head is [`HEAD_INTERVAL`] old.
    async fn commit(&mut self, jobs: &[Job], seal: bool) -> Outcome {
        // First whether the last commit that reported an error landed: what follows
        // (indexes, the head, the lookup pieces) builds on the answer.
        if let Err(error) = self.settle_unsure().await {
            return Outcome::Failed(error, jobs.len());
        }
        let appending = jobs.iter().any(|job| !job.records.is_empty());
        let sign =
            seal || self.head_interval.is_zero() || self.signed_at.elapsed() >= self.head_interval;
        let unsigned = self.frontier.size() > self.signed_size;
        if !(appending || sign && unsigned) {
            // Nothing to write: a seal with every record already signed.
            return Outcome::Committed(vec![0..0; jobs.len()]);
        }
        self.advance_indexing();
        let mut frontier = self.frontier.clone();
        let mut batch = Batch::default();
        let mut piece = 0;
        if let Indexing::Writing(run) = &self.indexing {
            let (subjects, traces, last) = run.piece(self.index_rows(jobs));
            piece = subjects.len() + traces.len();
            batch.index_subjects = subjects;
            batch.index_traces = traces;
            batch.indexed_upto = last.then_some(run.end);
            batch.indexed_from = run.from;
        }
        let mut ranges = Vec::with_capacity(jobs.len());
        for job in jobs {
            let first = frontier.size();
            for record in &job.records {
                // Saturating: a retention of millions of days (keep for good) must not
                // stop the writer.
                let expires = record.end.saturating_add(
                    self.activities
                        .retention(record.processing_activity_id.as_deref()),
                );
                let entry = match Entry::new(frontier.size(), record, expires.unix_timestamp()) {
                    Ok(entry) => entry,
                    Err(error) => return Outcome::Failed(error.to_string(), jobs.len()),
                };
                batch.nodes.extend(kept(frontier.push(entry.leaf_hash)));
                batch.entries.push(entry);
            }
            ranges.push(first..frontier.size());
        }
        if sign {
            let now = crate::record::millis(self.clock.now());
            batch.head = Some(SignedTreeHead::sign(
                &self.keys,
                frontier.size(),
                frontier.root(),
                now,
            ));
        }
        let batch = Arc::new(batch);
        let started = Instant::now();
        let appended = if self.blocking {
            self.store.append_blocking(&batch)
        } else {
            self.store.append(batch.clone()).await
        };
        match appended {
            Ok(()) => {
                if let Some(metrics) = self.metrics.get() {
                    metrics.commit.observe(started.elapsed().as_secs_f64());
                    #[allow(clippy::cast_precision_loss)] // a batch is at most MAX_BATCH
                    metrics.records.observe(batch.entries.len() as f64);
                }
                self.landed(&batch, frontier, piece);
                Outcome::Committed(ranges)
            }
            Err(error) => {
                tracing::error!(log = %self.name, %error, "the processing log could not commit a batch");
                let background = jobs
                    .iter()
                    .filter(|job| job.done.is_none())
                    .map(|job| job.records.len())
                    .sum();
                self.unsure = Some(Unsure {
                    batch,
                    frontier,
                    piece,
                    background,
                });
                Outcome::Unsure(error.to_string(), jobs.len())
            }
        }
    }

    /// The writer after `batch` is committed: its tree, heads and tail.
    fn landed(&mut self, batch: &Batch, frontier: Frontier, piece: usize) {
        if let Some(head) = &batch.head {
            self.signed_size = head.size;
            self.signed_at = tokio::time::Instant::now();
            if let Some(file) = &self.head_file {
                file.later(head);
            }
            self.last_head = Some(head.clone());
        }
        self.frontier = frontier;
        let mut tail = self
            .tail
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for entry in &batch.entries {
            tail.push(
                entry.index,
                entry.subject.as_deref(),
                entry.trace_id.as_deref(),
            );
        }
        drop(tail);
        self.piece_written(piece, batch.indexed_upto);
    }

    /// Whether the batch whose commit reported an error landed after all: then the writer
    /// goes on from it (its callers heard of an error, so the log holds more than they
    /// know of, never less). An error here means it cannot tell yet: no commit until it can.
    async fn settle_unsure(&mut self) -> Result<(), String> {
        let Some(unsure) = self.unsure.take() else {
            return Ok(());
        };
        let looked = match (unsure.batch.entries.first(), &unsure.batch.head) {
            (Some(first), _) => self.store.scan(first.index, 1).await.map(|found| {
                found
                    .first()
                    .is_some_and(|e| e.leaf_hash == first.leaf_hash)
            }),
            (None, Some(head)) => self.store.head(head.size).await.map(|found| {
                found.is_some_and(|h| h.root == head.root && h.signature == head.signature)
            }),
            (None, None) => Ok(false),
        };
        match looked {
            Ok(true) => {
                tracing::warn!(log = %self.name, "a commit that reported an error had landed; going on from it");
                self.landed(&unsure.batch, unsure.frontier, unsure.piece);
                Ok(())
            }
            Ok(false) => {
                if unsure.background > 0 {
                    tracing::error!(log = %self.name, records = unsure.background, "records appended in the background were not committed");
                }
                count_lost(&self.metrics, unsure.background);
                Ok(())
            }
            Err(error) => {
                self.unsure = Some(unsure);
                Err(format!(
                    "cannot tell whether an earlier commit landed: {error}"
                ))
            }
        }
    }
}

/// Lookup-table rows for a commit of `records` records while the tail holds `tail`:
/// none unless the writer is behind ([`RIDE_FROM`]).
fn index_rows(records: usize, tail: u64) -> usize {
    if tail <= RIDE_FROM {
        return 0;
    }
    let extra = if tail > TAIL_BEHIND {
        INDEX_ROWS_CATCH_UP
    } else {
        1
    };
    records * INDEX_ROWS_PER_FOUR_RECORDS / 4 + extra
}

enum Outcome {
    Committed(Vec<std::ops::Range<u64>>),
    /// Nothing of it landed.
    Failed(String, usize),
    /// Its commit reported an error, but may have landed ([`Unsure`]).
    Unsure(String, usize),
}

impl Outcome {
    fn split(self) -> Vec<Result<Vec<u64>, String>> {
        match self {
            Self::Committed(ranges) => ranges.into_iter().map(|r| Ok(r.collect())).collect(),
            Self::Failed(message, jobs) | Self::Unsure(message, jobs) => vec![Err(message); jobs],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_takes_no_piece_unless_behind_and_then_one_that_keeps_pace() {
        // The writer puts the bucket in while idle: commits callers wait for carry none.
        for tail in [100, 70_000, RIDE_FROM] {
            assert_eq!(index_rows(1, tail), 0);
            assert_eq!(index_rows(MAX_BATCH, tail), 0);
        }
        // Behind: one record takes its own two rows and one more, far from the old
        // fixed 1,024; every commit more than its records' subjects and traces, so the
        // indexing gains on the appends.
        assert_eq!(index_rows(1, RIDE_FROM + 1), 3);
        for records in [1, 2, 7, 4096, MAX_BATCH] {
            assert!(index_rows(records, RIDE_FROM + 1) > records * 2);
        }
        // Behind (a long tail after a restart): bigger pieces until it catches up.
        assert_eq!(index_rows(1, TAIL_BEHIND + 1), 2 + INDEX_ROWS_CATCH_UP);
    }

    #[test]
    fn pieces_walk_the_subjects_then_the_traces_without_overlap() {
        let mut run = Run {
            from: 0,
            end: 1 << 16,
            subjects: vec![10, 11, 12],
            traces: vec![20, 21],
            done: 0,
        };
        let mut seen = (Vec::new(), Vec::new());
        loop {
            let (subjects, traces, last) = run.piece(2);
            run.done += subjects.len() + traces.len();
            seen.0.extend(subjects);
            seen.1.extend(traces);
            if last {
                break;
            }
        }
        assert_eq!(seen, (vec![10, 11, 12], vec![20, 21]));
        assert_eq!(run.done, 5);
    }
}
