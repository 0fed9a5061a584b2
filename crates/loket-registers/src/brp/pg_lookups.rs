//! Lookups by BSN on Postgres, gathered: the lookups that arrive while a statement is
//! out go to the server together, as the next statement.
//!
//! A lookup is cheap for Postgres to do and dear to ask: the round trip, a backend woken
//! for it, the executor started and stopped, on the same two cores as the register. One
//! statement for the lookups that queued up pays that once for all of them, as a group
//! commit does for writes. An idle register still sends each lookup at once: a batch is
//! whatever waited, never a wait for more.
//!
//! One statement is out at a time, so that the next one gathers everything that came in
//! meanwhile. A second (up to one per connection) starts beside it only when that one is
//! slow (pages read from disk, say) or many lookups wait: measured at 32 connections on
//! two cores, one statement at a time took Postgres a third less work per lookup than
//! one per connection (BENCHMARKS.md).

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use loket_store::sqlx;
use loket_store::{PgReader, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The most lookups one statement answers (each names at most 20 BSNs).
const MAX_LOOKUPS: usize = 64;
/// Lookups waiting for a statement before callers wait to hand theirs over.
const QUEUE: usize = 1024;
/// Beside a statement that is out, another starts when this many lookups wait…
const ANOTHER_AT: usize = 16;
/// …or when the oldest has waited this long: the one out is slow.
const ANOTHER_AFTER: Duration = Duration::from_micros(500);

type Answer = Result<Vec<String>, String>;

struct Lookup {
    /// The persons' keys (`store::bsn_key`).
    keys: Vec<i64>,
    since: Instant,
    done: oneshot::Sender<Answer>,
}

#[derive(Debug)]
pub(super) struct PgLookups {
    reader: Arc<PgReader>,
    /// At most this many statements out at once.
    statements: usize,
    /// Started on first use, on the runtime of the first caller.
    queue: OnceLock<mpsc::Sender<Lookup>>,
}

impl PgLookups {
    /// At most one statement per connection of `reader`, so none waits for a connection.
    pub(super) fn new(reader: Arc<PgReader>, connections: usize) -> Self {
        Self {
            reader,
            statements: connections.max(1),
            queue: OnceLock::new(),
        }
    }

    /// The stored documents of the persons with these keys, in the order asked, each once.
    pub(super) async fn documents(&self, keys: Vec<i64>) -> Result<Vec<String>, StoreError> {
        let stopped = || StoreError::Unavailable("the BRP's lookups stopped".to_owned());
        let (done, answer) = oneshot::channel();
        let lookup = Lookup {
            keys,
            since: Instant::now(),
            done,
        };
        self.queue().send(lookup).await.map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Unavailable)
    }

    fn queue(&self) -> &mpsc::Sender<Lookup> {
        self.queue.get_or_init(|| {
            let (queue, lookups) = mpsc::channel(QUEUE);
            tokio::spawn(dispatch(self.reader.clone(), lookups, self.statements));
            queue
        })
    }
}

/// Gather lookups and send them off as statements (`may_start`), until the store is
/// dropped and every lookup is answered.
async fn dispatch(reader: Arc<PgReader>, mut lookups: mpsc::Receiver<Lookup>, most_out: usize) {
    let mut waiting: VecDeque<Lookup> = VecDeque::new();
    let mut out = JoinSet::new();
    let mut open = true;
    while open || !waiting.is_empty() || !out.is_empty() {
        let overdue = waiting.front().map(|oldest| oldest.since + ANOTHER_AFTER);
        tokio::select! {
            lookup = lookups.recv(), if open && waiting.len() < QUEUE => match lookup {
                Some(lookup) => waiting.push_back(lookup),
                None => open = false,
            },
            Some(_) = out.join_next(), if !out.is_empty() => {}
            () = sleep_until(overdue), if overdue.is_some() && out.len() < most_out => {}
        }
        while waiting.len() < QUEUE
            && let Ok(lookup) = lookups.try_recv()
        {
            waiting.push_back(lookup);
        }
        while may_start(&waiting, out.len(), most_out, Instant::now()) {
            let batch: Vec<Lookup> = waiting.drain(..waiting.len().min(MAX_LOOKUPS)).collect();
            out.spawn(answer(reader.clone(), batch));
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Whether to send the waiting lookups off now, with `out` statements out already.
fn may_start(waiting: &VecDeque<Lookup>, out: usize, most_out: usize, now: Instant) -> bool {
    let Some(oldest) = waiting.front() else {
        return false;
    };
    out == 0
        || (out < most_out && (waiting.len() >= ANOTHER_AT || now >= oldest.since + ANOTHER_AFTER))
}

/// One statement for `batch`; each lookup gets its own answer.
async fn answer(reader: Arc<PgReader>, batch: Vec<Lookup>) {
    let mut keys: Vec<i64> = batch
        .iter()
        .flat_map(|lookup| lookup.keys.iter().copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    match fetch(&reader, &keys).await {
        Ok(mut rows) => {
            rows.sort_unstable_by_key(|row| row.0);
            for lookup in batch {
                let _ = lookup.done.send(Ok(in_order(&lookup.keys, &rows)));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for lookup in batch {
                let _ = lookup.done.send(Err(message.clone()));
            }
        }
    }
}

async fn fetch(reader: &PgReader, keys: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
    let mut read = reader.get().await?;
    let rows = sqlx::query_as("SELECT bsn, document FROM personen WHERE bsn = ANY($1)")
        .bind(keys)
        .fetch_all(read.connection())
        .await?;
    read.done();
    Ok(rows)
}

/// The documents for `keys` from `rows` (sorted by key), in the order asked, each once.
fn in_order(keys: &[i64], rows: &[(i64, String)]) -> Vec<String> {
    let mut documents = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].contains(key) {
            continue;
        }
        if let Ok(found) = rows.binary_search_by(|(row, _)| row.cmp(key)) {
            documents.push(rows[found].1.clone());
        }
    }
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(keys: &[i64]) -> Vec<(i64, String)> {
        keys.iter()
            .map(|key| (*key, format!("doc {key}")))
            .collect()
    }

    fn waiting(count: usize, since: Instant) -> VecDeque<Lookup> {
        (0..count)
            .map(|_| Lookup {
                keys: vec![1],
                since,
                done: oneshot::channel().0,
            })
            .collect()
    }

    #[test]
    fn another_statement_starts_beside_one_out_only_when_many_wait_or_one_waited_long() {
        let now = Instant::now();
        let later = now + ANOTHER_AFTER;
        assert!(!may_start(&waiting(0, now), 0, 4, now), "nothing to send");
        assert!(may_start(&waiting(1, now), 0, 4, now), "none out: at once");
        assert!(!may_start(&waiting(1, now), 1, 4, now), "one out: gather");
        assert!(may_start(&waiting(ANOTHER_AT, now), 1, 4, now), "many wait");
        assert!(
            may_start(&waiting(1, now), 1, 4, later),
            "the one out is slow"
        );
        assert!(
            !may_start(&waiting(ANOTHER_AT, now), 4, 4, later),
            "never more than one per connection"
        );
    }

    #[test]
    fn each_lookup_gets_its_own_persons_in_its_own_order_once() {
        let found = rows(&[111, 222, 333]);
        let asked = |keys: &[i64]| in_order(keys, &found);
        assert_eq!(asked(&[333, 111]), ["doc 333", "doc 111"]);
        assert_eq!(asked(&[222, 999, 222]), ["doc 222"]);
        assert!(asked(&[999]).is_empty());
    }
}
