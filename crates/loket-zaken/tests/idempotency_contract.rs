//! The idempotency store's contract, run against SQLite and PostgreSQL alike.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use loket_store::{Database, StorageUrl};
use loket_zaken::idempotency::idempotency_store;
use loket_zaken::{Claim, IdempotencyKey, IdempotencyStore, SCHEMA, SavedResponse};
use time::Duration;
use time::macros::datetime;

async fn open(url: &StorageUrl) -> Arc<dyn IdempotencyStore> {
    let database = Database::open(url, &SCHEMA).await.unwrap();
    idempotency_store(&database)
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

fn created() -> SavedResponse {
    SavedResponse {
        status: 303,
        location: Some("/zaken/Z-2026-000001".into()),
        body: b"ontvangen".to_vec(),
    }
}

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

async fn first_claim_wins(store: Arc<dyn IdempotencyStore>) {
    assert_eq!(
        store
            .claim("session-a", &key("form-0001"), NOW)
            .await
            .unwrap(),
        Claim::Fresh
    );
    assert_eq!(
        store
            .claim("session-a", &key("form-0001"), NOW)
            .await
            .unwrap(),
        Claim::InProgress
    );
}

async fn a_completed_key_returns_the_saved_response(store: Arc<dyn IdempotencyStore>) {
    let k = key("form-0002");
    assert_eq!(
        store.claim("session-a", &k, NOW).await.unwrap(),
        Claim::Fresh
    );
    store.complete("session-a", &k, &created()).await.unwrap();
    assert_eq!(
        store.claim("session-a", &k, NOW).await.unwrap(),
        Claim::Done(created())
    );
}

async fn keys_are_per_owner(store: Arc<dyn IdempotencyStore>) {
    let k = key("form-0003");
    assert_eq!(
        store.claim("session-a", &k, NOW).await.unwrap(),
        Claim::Fresh
    );
    assert_eq!(
        store.claim("session-b", &k, NOW).await.unwrap(),
        Claim::Fresh
    );
}

async fn a_released_key_can_be_claimed_again(store: Arc<dyn IdempotencyStore>) {
    let k = key("form-0004");
    assert_eq!(
        store.claim("session-a", &k, NOW).await.unwrap(),
        Claim::Fresh
    );
    store.release("session-a", &k).await.unwrap();
    assert_eq!(
        store.claim("session-a", &k, NOW).await.unwrap(),
        Claim::Fresh
    );
}

async fn release_does_not_forget_a_finished_response(store: Arc<dyn IdempotencyStore>) {
    let k = key("form-0005");
    store.claim("session-a", &k, NOW).await.unwrap();
    store.complete("session-a", &k, &created()).await.unwrap();
    store.release("session-a", &k).await.unwrap();
    assert_eq!(
        store.claim("session-a", &k, NOW).await.unwrap(),
        Claim::Done(created())
    );
}

async fn purge_removes_only_old_keys(store: Arc<dyn IdempotencyStore>) {
    store
        .claim("session-a", &key("old-key-01"), NOW - Duration::days(2))
        .await
        .unwrap();
    store
        .claim("session-a", &key("new-key-01"), NOW)
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_claimed_before(NOW - Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .claim("session-a", &key("old-key-01"), NOW)
            .await
            .unwrap(),
        Claim::Fresh
    );
    assert_eq!(
        store
            .claim("session-a", &key("new-key-01"), NOW)
            .await
            .unwrap(),
        Claim::InProgress
    );
}

async fn concurrent_claims_yield_exactly_one_winner(store: Arc<dyn IdempotencyStore>) {
    let k = key("form-race-1");
    let attempts = (0..16).map(|_| {
        let store = store.clone();
        let k = k.clone();
        tokio::spawn(async move { store.claim("session-a", &k, NOW).await.unwrap() })
    });
    let mut fresh = 0;
    for attempt in attempts {
        if attempt.await.unwrap() == Claim::Fresh {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

async fn binary_bodies_survive_unchanged(store: Arc<dyn IdempotencyStore>) {
    let k = key("form-bytes");
    let body: Vec<u8> = (0..=255).collect();
    let response = SavedResponse {
        status: 201,
        location: None,
        body,
    };
    store.claim("session-a", &k, NOW).await.unwrap();
    store.complete("session-a", &k, &response).await.unwrap();
    assert_eq!(
        store.claim("session-a", &k, NOW).await.unwrap(),
        Claim::Done(response)
    );
}

loket_store::contract_suite! {
    open = open;
    tests = [
        first_claim_wins,
        a_completed_key_returns_the_saved_response,
        keys_are_per_owner,
        a_released_key_can_be_claimed_again,
        release_does_not_forget_a_finished_response,
        purge_removes_only_old_keys,
        concurrent_claims_yield_exactly_one_winner,
        binary_bodies_survive_unchanged,
    ];
}
