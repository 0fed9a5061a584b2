//! Lookups by BSN on Postgres, gathered: the lookups that arrive while the reader's
//! connections are busy go to the server together, as one statement.
//!
//! A lookup is cheap for Postgres to do and dear to ask: the round trip, a backend woken
//! for it, the executor started and stopped, on the same two cores as the register. One
//! statement for the lookups that queued up pays that once for all of them, as a group
//! commit does for writes. An idle register still sends each lookup at once: a batch is
//! whatever waited, never a wait for more.

use std::sync::{Arc, OnceLock};

use loket_store::sqlx;
use loket_store::{PgReader, StoreError};
use tokio::sync::{Mutex, mpsc, oneshot};

/// The most lookups one statement answers (each names at most 20 BSNs).
const MAX_LOOKUPS: usize = 64;
/// Lookups waiting for a worker before callers wait to hand theirs over.
const QUEUE: usize = 1024;

type Answer = Result<Vec<String>, String>;

struct Lookup {
    /// The persons' keys (`store::bsn_key`).
    keys: Vec<i64>,
    done: oneshot::Sender<Answer>,
}

#[derive(Debug)]
pub(super) struct PgLookups {
    reader: Arc<PgReader>,
    workers: usize,
    /// Started on first use, on the runtime of the first caller.
    queue: OnceLock<mpsc::Sender<Lookup>>,
}

impl PgLookups {
    /// One worker per connection of `reader`, so a worker never waits for a connection.
    pub(super) fn new(reader: Arc<PgReader>, connections: usize) -> Self {
        Self {
            reader,
            workers: connections.max(1),
            queue: OnceLock::new(),
        }
    }

    /// The stored documents of the persons with these keys, in the order asked, each once.
    pub(super) async fn documents(&self, keys: Vec<i64>) -> Result<Vec<String>, StoreError> {
        let stopped = || StoreError::Unavailable("the BRP's lookups stopped".to_owned());
        let (done, answer) = oneshot::channel();
        self.queue()
            .send(Lookup { keys, done })
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Unavailable)
    }

    fn queue(&self) -> &mpsc::Sender<Lookup> {
        self.queue.get_or_init(|| {
            let (queue, lookups) = mpsc::channel(QUEUE);
            let lookups = Arc::new(Mutex::new(lookups));
            for _ in 0..self.workers {
                tokio::spawn(work(self.reader.clone(), lookups.clone()));
            }
            queue
        })
    }
}

/// Take what has queued (waiting for the first), answer it with one statement, again;
/// until the store is dropped. The workers take turns at the queue.
async fn work(reader: Arc<PgReader>, lookups: Arc<Mutex<mpsc::Receiver<Lookup>>>) {
    let mut batch = Vec::with_capacity(MAX_LOOKUPS);
    loop {
        {
            let mut lookups = lookups.lock().await;
            let Some(first) = lookups.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < MAX_LOOKUPS {
                match lookups.try_recv() {
                    Ok(lookup) => batch.push(lookup),
                    Err(_) => break,
                }
            }
        }
        answer(&reader, &mut batch).await;
    }
}

async fn answer(reader: &PgReader, batch: &mut Vec<Lookup>) {
    let mut keys: Vec<i64> = batch
        .iter()
        .flat_map(|lookup| lookup.keys.iter().copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    match fetch(reader, &keys).await {
        Ok(mut rows) => {
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for lookup in batch.drain(..) {
                let _ = lookup.done.send(Ok(in_order(&lookup.keys, &rows)));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for lookup in batch.drain(..) {
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

    #[test]
    fn each_lookup_gets_its_own_persons_in_its_own_order_once() {
        let found = rows(&[111, 222, 333]);
        let asked = |keys: &[i64]| in_order(keys, &found);
        assert_eq!(asked(&[333, 111]), ["doc 333", "doc 111"]);
        assert_eq!(asked(&[222, 999, 222]), ["doc 222"]);
        assert!(asked(&[999]).is_empty());
    }
}
