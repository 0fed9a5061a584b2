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
    bsns: Vec<String>,
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

    /// The stored documents of the persons with these BSNs, in the order asked, each once.
    pub(super) async fn documents(&self, bsns: Vec<String>) -> Result<Vec<String>, StoreError> {
        let stopped = || StoreError::Unavailable("the BRP's lookups stopped".to_owned());
        let (done, answer) = oneshot::channel();
        self.queue()
            .send(Lookup { bsns, done })
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
    let mut bsns: Vec<&str> = batch
        .iter()
        .flat_map(|lookup| lookup.bsns.iter().map(String::as_str))
        .collect();
    bsns.sort_unstable();
    bsns.dedup();
    match fetch(reader, &bsns).await {
        Ok(mut rows) => {
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for lookup in batch.drain(..) {
                let _ = lookup.done.send(Ok(in_order(&lookup.bsns, &rows)));
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

async fn fetch(reader: &PgReader, bsns: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
    let mut read = reader.get().await?;
    let rows = sqlx::query_as("SELECT bsn, document FROM personen WHERE bsn = ANY($1)")
        .bind(bsns)
        .fetch_all(read.connection())
        .await?;
    read.done();
    Ok(rows)
}

/// The documents for `bsns` from `rows` (sorted by BSN), in the order asked, each once.
fn in_order(bsns: &[String], rows: &[(String, String)]) -> Vec<String> {
    let mut documents = Vec::with_capacity(bsns.len());
    for (i, bsn) in bsns.iter().enumerate() {
        if bsns[..i].contains(bsn) {
            continue;
        }
        if let Ok(found) = rows.binary_search_by(|(key, _)| key.as_str().cmp(bsn)) {
            documents.push(rows[found].1.clone());
        }
    }
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bsns: &[&str]) -> Vec<(String, String)> {
        bsns.iter()
            .map(|bsn| ((*bsn).to_owned(), format!("doc {bsn}")))
            .collect()
    }

    #[test]
    fn each_lookup_gets_its_own_persons_in_its_own_order_once() {
        let found = rows(&["111", "222", "333"]);
        let asked = |bsns: &[&str]| {
            let bsns: Vec<String> = bsns.iter().map(|b| (*b).to_owned()).collect();
            in_order(&bsns, &found)
        };
        assert_eq!(asked(&["333", "111"]), ["doc 333", "doc 111"]);
        assert_eq!(asked(&["222", "999", "222"]), ["doc 222"]);
        assert!(asked(&["999"]).is_empty());
    }
}
