//! Group commit for new cases: applications decided at the same moment share one
//! transaction, so the rate of decisions is not capped at one disk flush per case.
//!
//! Each application hands its case to one writer task and waits for the answer. While a
//! commit is on its way to disk the next cases queue up, and the writer takes them all in
//! the next transaction. A lone application still commits at once: nothing waits for a
//! batch to fill.

use std::sync::Arc;

use loket_core::Clock;
use loket_store::StoreError;
use tokio::sync::{OwnedMutexGuard, mpsc, oneshot};

use crate::ZaakStore;
use crate::zaak::{NewZaak, Zaak};

/// At most this many cases in one transaction.
const MAX_BATCH: usize = 256;

/// A case waiting for its commit.
struct Pending {
    zaak: NewZaak,
    /// The address lock under which the case was decided. The writer keeps it until the
    /// case is committed, even when the application that asked has gone away, so the
    /// next count at that address always sees it.
    _decided_under: Option<OwnedMutexGuard<()>>,
    reply: oneshot::Sender<Result<Zaak, StoreError>>,
}

#[derive(Debug, Clone)]
pub(crate) struct CaseWriter {
    queue: mpsc::Sender<Pending>,
}

impl CaseWriter {
    /// Start the writer on the current Tokio runtime; it stops when the last
    /// `CaseWriter` is dropped.
    pub(crate) fn start(store: Arc<dyn ZaakStore>, clock: Arc<dyn Clock>) -> Self {
        let (queue, incoming) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_batches(store, clock, incoming));
        Self { queue }
    }

    /// Commit `zaak`, holding `lock` until it is on disk.
    pub(crate) async fn create(
        &self,
        zaak: NewZaak,
        lock: Option<OwnedMutexGuard<()>>,
    ) -> Result<Zaak, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            zaak,
            _decided_under: lock,
            reply,
        };
        self.queue.send(pending).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_batches(
    store: Arc<dyn ZaakStore>,
    clock: Arc<dyn Clock>,
    mut incoming: mpsc::Receiver<Pending>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pending: Vec<Pending> = std::mem::take(&mut batch);
        let zaken: Vec<NewZaak> = pending.iter().map(|p| p.zaak.clone()).collect();
        match store.create_all(&zaken, clock.now()).await {
            Ok(created) => {
                for (pending, zaak) in pending.into_iter().zip(created) {
                    // The application may have gone; its case stands all the same.
                    let _ = pending.reply.send(Ok(zaak));
                }
            }
            // One bad case must not fail the others: write each on its own, so each
            // application gets its own answer.
            Err(_) if pending.len() > 1 => {
                for pending in pending {
                    let result = store.create(&pending.zaak, clock.now()).await;
                    let _ = pending.reply.send(result);
                }
            }
            Err(error) => {
                for pending in pending {
                    let _ = pending.reply.send(Err(clone_error(&error)));
                }
            }
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the case writer has stopped".to_owned())
}

fn clone_error(error: &StoreError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use loket_core::SystemClock;
    use loket_store::Database;
    use loket_store::testing::TestStorage;
    use time::macros::date;
    use tokio::sync::Mutex;

    use super::*;
    use crate::zaak::{NewRol, Outcome};

    fn granted(object: &str) -> NewZaak {
        NewZaak {
            bronorganisatie: "002220647".to_owned(),
            zaaktype: "bewonersparkeervergunning".to_owned(),
            omschrijving: "Aanvraag".to_owned(),
            registratiedatum: date!(2026 - 11 - 23),
            startdatum: None,
            behandeltermijn_dagen: 56,
            zaakobject: Some(object.to_owned()),
            initiator: Some(NewRol::initiator("999990007")),
            statuses: Vec::new(),
            besluit: Some((Outcome::Toegekend, serde_json::json!({}))),
            resultaat: None,
            documenten: Vec::new(),
            audit: None,
            berichten: Vec::new(),
        }
    }

    async fn sqlite() -> (TestStorage, Arc<dyn ZaakStore>) {
        let storage = TestStorage::sqlite().unwrap();
        let database = Database::open(&storage.url, &crate::SCHEMA).await.unwrap();
        (storage, crate::zaak_store(&database))
    }

    #[tokio::test]
    async fn cases_written_together_each_come_back_to_their_own_application() {
        let (_storage, store) = sqlite().await;
        let writer = CaseWriter::start(store, Arc::new(SystemClock));
        let asks = (0..40).map(|i| {
            let writer = writer.clone();
            async move { (i, writer.create(granted(&format!("A {i}")), None).await) }
        });
        let answers = futures::future::join_all(asks).await;
        let mut uuids = BTreeSet::new();
        for (i, answer) in answers {
            let zaak = answer.unwrap();
            assert_eq!(zaak.zaakobject, Some(format!("A {i}")));
            uuids.insert(zaak.uuid);
        }
        assert_eq!(uuids.len(), 40);
    }

    #[tokio::test]
    async fn the_address_stays_locked_until_the_case_is_written_even_if_the_resident_leaves() {
        let (_storage, store) = sqlite().await;
        let writer = CaseWriter::start(store.clone(), Arc::new(SystemClock));
        let address = Arc::new(Mutex::new(()));
        let guard = address.clone().lock_owned().await;
        let mut create = Box::pin(writer.create(granted("9901AB 12"), Some(guard)));
        // One poll hands the case over; then the application goes away.
        assert!(futures::poll!(create.as_mut()).is_pending());
        drop(create);
        let _next = address.lock().await;
        let counted = store
            .count_about("bewonersparkeervergunning", "9901AB 12", Outcome::Toegekend)
            .await
            .unwrap();
        assert_eq!(
            counted, 1,
            "the next application at the address sees the case"
        );
    }
}
