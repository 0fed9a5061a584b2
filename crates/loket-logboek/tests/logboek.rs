//! The processing log on SQLite and PostgreSQL: appends, inzage, proofs, restarts, and
//! every kind of tampering `verify` must catch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use loket_core::resident_assertion::{self, AssertionSigner};
use loket_core::{Bsn, FixedClock, Secret, SpanId, TraceId};
use loket_http::openapi_check::Document;
use loket_logboek::api::{self, Reader, Role};
use loket_logboek::merkle::{self, Hash};
use loket_logboek::{
    Activities, Direction, Exchange, Filter, HeadFile, LOWEST_STORED_LEVEL, LogKeys, LogStore,
    Logboek, Lookup, NewRecord, Status, Tampered, VerifyError, leaf_input, log_store, schema,
    verify,
};
use loket_store::{Database, StorageUrl};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const PARKEREN: &str = "https://voorbeeldstad.example/verwerkingen/parkeervergunning";
const KORT: &str = "https://voorbeeldstad.example/verwerkingen/kort";
/// Kept for longer than the calendar runs.
const ARCHIEF: &str = "https://voorbeeldstad.example/verwerkingen/archief";
const SANNE: &str = "999990007";
const TOM: &str = "999990019";

const ACTIVITIES: &str = r#"
[[verwerkingsactiviteit]]
id = "https://voorbeeldstad.example/verwerkingen/parkeervergunning"
bewaartermijnDagen = 730
naam = { nl = "Parkeervergunning behandelen", en = "Handling a parking permit" }
doel = { nl = "Beslissen op uw aanvraag", en = "Deciding on your application" }
grondslag = { nl = "Parkeerverordening Voorbeeldstad", en = "Voorbeeldstad parking by-law" }

[[verwerkingsactiviteit]]
id = "https://voorbeeldstad.example/verwerkingen/archief"
bewaartermijnDagen = 4000000000
naam = { nl = "Voor altijd bewaard", en = "Kept for good" }
doel = { nl = "Test", en = "Test" }
grondslag = { nl = "Test", en = "Test" }

[[verwerkingsactiviteit]]
id = "https://voorbeeldstad.example/verwerkingen/kort"
bewaartermijnDagen = 1
naam = { nl = "Kort bewaard", en = "Kept briefly" }
doel = { nl = "Test", en = "Test" }
grondslag = { nl = "Test", en = "Test" }
"#;

struct Fixture {
    url: StorageUrl,
    database: Database,
    store: Arc<dyn LogStore>,
    log: Logboek,
    keys: tempfile::TempDir,
    clock: Arc<FixedClock>,
}

const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

async fn open(url: &StorageUrl) -> Fixture {
    let keys = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at(NOW));
    let database = Database::open(url, &schema("logboek_test")).await.unwrap();
    let store = log_store(&database);
    let log = start(&store, &keys, &clock).await.unwrap();
    Fixture {
        url: url.clone(),
        database,
        store,
        log,
        keys,
        clock,
    }
}

async fn start(
    store: &Arc<dyn LogStore>,
    keys: &tempfile::TempDir,
    clock: &Arc<FixedClock>,
) -> Result<Logboek, loket_logboek::LogError> {
    // A head in every commit, as the tests below count commits by their heads.
    start_signing_every(store, keys, clock, std::time::Duration::ZERO).await
}

async fn start_signing_every(
    store: &Arc<dyn LogStore>,
    keys: &tempfile::TempDir,
    clock: &Arc<FixedClock>,
    interval: std::time::Duration,
) -> Result<Logboek, loket_logboek::LogError> {
    Logboek::start(
        "test",
        store.clone(),
        LogKeys::load_or_create(keys.path(), "test").unwrap(),
        Arc::new(Activities::parse(ACTIVITIES, "test").unwrap()),
        clock.clone(),
        interval,
    )
    .await
}

fn record(f: &Fixture, bsn: Option<&str>, activity: &str, at: OffsetDateTime) -> NewRecord {
    NewRecord {
        trace_id: TraceId::random(),
        span_id: SpanId::random(),
        parent_span_id: None,
        name: "brp personen raadplegen".into(),
        start: at,
        end: at + Duration::milliseconds(3),
        status: Status::Ok,
        processing_activity_id: Some(activity.into()),
        data_subject: bsn.map(|b| f.log.pseudonyms().bsn(b)),
        exchange: Some(Exchange {
            transaction_id: uuid::Uuid::now_v7().to_string(),
            direction: Direction::Incoming,
            grant_hash: Some("$1$3$abc".into()),
            source_peer_id: "00000001001234567000".into(),
            destination_peer_id: "00000001009876543000".into(),
            service_name: "brp-personen".into(),
            stated_processing_activity_id: None,
            fields: vec!["naam".into()],
            error_code: None,
        }),
    }
}

async fn fill(f: &Fixture, n: usize) {
    for i in 0..n {
        let bsn = if i % 2 == 0 { SANNE } else { TOM };
        let at = NOW - Duration::minutes(i64::try_from(n - i).unwrap());
        f.log
            .append(vec![record(f, Some(bsn), PARKEREN, at)])
            .await
            .unwrap();
    }
    // The head file is written in the background; asking for the newest head brings it
    // up to date, so a test that tampers next finds the file where the log left it.
    f.log.latest_head().await.unwrap();
}

/// `n` records about Sanne and Tom in turn, appended 4,096 at a time.
async fn fill_in_batches(f: &Fixture, n: u64) {
    let mut appended = 0;
    while appended < n {
        let batch: Vec<NewRecord> = (appended..(appended + 4096).min(n))
            .map(|i| record(f, Some(if i % 2 == 0 { SANNE } else { TOM }), PARKEREN, NOW))
            .collect();
        appended += batch.len() as u64;
        f.log.append(batch).await.unwrap();
    }
}

async fn verified(f: &Fixture) -> Result<loket_logboek::Report, VerifyError> {
    let known = head_file(f).read(f.log.verifying_key()).unwrap();
    verify(
        f.store.as_ref(),
        f.log.verifying_key(),
        f.clock.now_unix(),
        known.as_ref(),
    )
    .await
}

fn head_file(f: &Fixture) -> HeadFile {
    HeadFile::beside_keys(f.keys.path(), "test")
}

/// Wait until the head file beside the keys holds the head for `size` records.
async fn head_file_at(f: &Fixture, size: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let file = head_file(f);
    while file.read(f.log.verifying_key()).unwrap().map(|h| h.size) != Some(size) {
        assert!(
            std::time::Instant::now() < deadline,
            "no head file at {size}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// As if the log had stopped before it signed the records after `size`: the heads after
/// it go from the database, and the head file holds the one for `size`.
async fn stopped_before_signing_after(f: &Fixture, size: u64) {
    head_file_at(f, f.log.latest_head().await.unwrap().unwrap().size).await;
    tamper(f, &format!("DELETE FROM tree_heads WHERE size > {size}")).await;
    let head = f.store.head(size).await.unwrap().unwrap();
    head_file(f).write(&head).unwrap();
}

trait NowUnix {
    fn now_unix(&self) -> i64;
}
impl NowUnix for FixedClock {
    fn now_unix(&self) -> i64 {
        loket_core::Clock::now(self).unix_timestamp()
    }
}

/// Run SQL as an intruder with write access to the database would.
async fn tamper(f: &Fixture, sql: &str) {
    use loket_store::sqlx;
    match &f.database {
        Database::Sqlite(pool) => {
            sqlx::query(sql).execute(pool).await.unwrap();
        }
        Database::Postgres(pool) => {
            sqlx::query(sql).execute(pool).await.unwrap();
        }
    }
}

/// A number read with SQL, as a test may check the tables behind the log.
async fn count(f: &Fixture, sql: &str) -> i64 {
    use loket_store::sqlx;
    match &f.database {
        Database::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// Every record of `subject` (or with `trace`), newest first, read straight from the store.
async fn every(f: &Fixture, subject: Option<&str>, trace: Option<&str>) -> Vec<u64> {
    let mut found = Vec::new();
    let mut from = 0;
    loop {
        let page = f.store.scan(from, 10_000).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.index + 1;
        found.extend(
            page.iter()
                .filter(|e| e.body.is_some())
                .filter(|e| subject.is_none_or(|s| e.subject.as_deref() == Some(s)))
                .filter(|e| trace.is_none_or(|t| e.trace_id.as_deref() == Some(t)))
                .map(|e| e.index),
        );
    }
    found.reverse();
    found
}

/// What a reader paging through the log with `filter` gets, page after page.
async fn paged(log: &Logboek, filter: Filter) -> Vec<u64> {
    let mut found = Vec::new();
    let mut before = None;
    loop {
        let page = log
            .query(&Filter {
                before,
                ..filter.clone()
            })
            .await
            .unwrap();
        found.extend(page.iter().map(|e| e.index));
        match page.last() {
            Some(last) if page.len() == filter.limit as usize => before = Some(last.index),
            _ => return found,
        }
    }
}

fn tampered(result: Result<loket_logboek::Report, VerifyError>) -> Tampered {
    match result {
        Err(VerifyError::Tampered(t)) => t,
        other => panic!("expected tampering to be found, got {other:?}"),
    }
}

async fn appends_are_numbered_and_found_by_subject_newest_first(f: Fixture) {
    fill(&f, 7).await;
    let sanne = f.log.pseudonyms().bsn(SANNE).as_str().to_owned();
    let page = f
        .log
        .query(&Filter {
            subject: Some(sanne.clone()),
            limit: 3,
            ..Filter::default()
        })
        .await
        .unwrap();
    let indexes: Vec<u64> = page.iter().map(|e| e.index).collect();
    assert_eq!(indexes, [6, 4, 2]);
    let next = f
        .log
        .query(&Filter {
            subject: Some(sanne),
            before: Some(2),
            limit: 3,
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(next.iter().map(|e| e.index).collect::<Vec<_>>(), [0]);
    // The BSN itself is nowhere in what is stored.
    for entry in f.store.scan(0, 100).await.unwrap() {
        assert!(!entry.body.unwrap().contains(SANNE));
    }
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.tree_heads), (7, 7));
}

async fn concurrent_appends_share_commits_and_get_distinct_indexes(f: Fixture) {
    let mut tasks = Vec::new();
    for task in 0..40 {
        let log = f.log.clone();
        let records: Vec<NewRecord> = (0..25)
            .map(|_| {
                record(
                    &f,
                    Some(if task % 2 == 0 { SANNE } else { TOM }),
                    PARKEREN,
                    NOW,
                )
            })
            .collect();
        tasks.push(tokio::spawn(
            async move { log.append(records).await.unwrap() },
        ));
    }
    let mut all = Vec::new();
    for task in tasks {
        let indexes = task.await.unwrap();
        // One caller's records stay together, in order.
        assert!(indexes.windows(2).all(|w| w[1] == w[0] + 1));
        all.extend(indexes);
    }
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<u64>>());
    let report = verified(&f).await.unwrap();
    assert_eq!(report.records, 1000);
    assert!(
        report.tree_heads < 40,
        "group commit: {} heads",
        report.tree_heads
    );
}

async fn an_unhurried_append_shares_the_next_urgent_commit_or_commits_alone(f: Fixture) {
    let mut answer = Box::pin(
        f.log
            .append_unhurried(vec![record(&f, Some(SANNE), PARKEREN, NOW)]),
    );
    // One poll queues it; the writer takes it and waits a moment for an urgent append,
    // instead of committing it at once. The urgent one follows straight away: a pause
    // here (there was a 1 ms sleep) could outlast the writer's wait on a loaded machine.
    let queued = tokio::time::timeout(std::time::Duration::ZERO, &mut answer).await;
    assert!(
        queued.is_err(),
        "an unhurried append does not commit at once"
    );
    let request = f
        .log
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    assert_eq!((answer.await.unwrap(), request), (vec![0], vec![1]));
    assert_eq!(
        verified(&f).await.unwrap().tree_heads,
        1,
        "one commit for both"
    );

    let alone = f
        .log
        .append_unhurried(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await
        .unwrap();
    assert_eq!(alone, [2]);
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.tree_heads), (3, 2));
}

async fn a_background_append_joins_the_next_urgent_commit_without_a_waiter(f: Fixture) {
    f.log
        .append_in_background(vec![record(&f, Some(SANNE), PARKEREN, NOW)]);
    let request = f
        .log
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    // Queued first, so committed first, and in the same commit as the urgent one.
    assert_eq!(request, [1]);
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.tree_heads), (2, 1));

    // Alone, it still reaches the disk once nobody else comes along.
    f.log
        .append_in_background(vec![record(&f, Some(SANNE), PARKEREN, NOW)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // Watch the signed head (one row, written with the records): verifying while a
    // commit lands could read its records and miss its head.
    while f.log.latest_head().await.unwrap().map(|head| head.size) != Some(3) {
        assert!(std::time::Instant::now() < deadline, "never committed");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.tree_heads), (3, 2));
}

/// The metric line `name{log="test"} value` of a rendered exposition.
fn metric(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{log=\"test\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

async fn appends_report_their_waits_and_commits_to_the_metrics(f: Fixture) {
    let metrics = loket_http::Metrics::new();
    f.log
        .report_to(&loket_logboek::LogMetrics::register(&metrics));
    f.log
        .append(vec![
            record(&f, Some(SANNE), PARKEREN, NOW),
            record(&f, Some(TOM), PARKEREN, NOW),
        ])
        .await
        .unwrap();
    f.log
        .append_unhurried(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await
        .unwrap();
    let text = metrics.render();
    // Two commits (a head in every one, as this fixture signs) of three records; only
    // the urgent append counts as a wait.
    assert_eq!(metric(&text, "loket_logboek_commit_seconds_count"), 2.0);
    assert_eq!(metric(&text, "loket_logboek_commit_records_count"), 2.0);
    assert_eq!(metric(&text, "loket_logboek_commit_records_sum"), 3.0);
    assert_eq!(
        metric(&text, "loket_logboek_append_wait_seconds_count"),
        1.0
    );
    let (wait, commits) = (
        metric(&text, "loket_logboek_append_wait_seconds_sum"),
        metric(&text, "loket_logboek_commit_seconds_sum"),
    );
    assert!(
        wait > 0.0 && commits > 0.0,
        "wait {wait}, commits {commits}"
    );
}

/// The privacy officer's search by processing activity (and time) alone, without a
/// subject or trace: every matching record, newest first, page by page, pruned ones
/// left out.
async fn a_search_by_activity_alone_pages_newest_first(f: Fixture) {
    let mut records = Vec::new();
    for i in 0..40_i64 {
        let (activity, at) = match i % 4 {
            0 => (KORT, NOW - Duration::days(10)),
            1 => (ARCHIEF, NOW - Duration::minutes(40 - i)),
            _ => (PARKEREN, NOW - Duration::minutes(40 - i)),
        };
        records.push(record(&f, Some(SANNE), activity, at));
    }
    f.log.append(records).await.unwrap();
    let search = |activity: &str, start_from_ms| Filter {
        activity: Some(activity.to_owned()),
        start_from_ms,
        limit: 3,
        ..Filter::default()
    };
    let archived: Vec<u64> = (0..40).rev().filter(|i| i % 4 == 1).collect();
    assert_eq!(paged(&f.log, search(ARCHIEF, None)).await, archived);
    let recent = (NOW - Duration::minutes(20)).unix_timestamp() * 1000;
    let recent_ones: Vec<u64> = archived.iter().copied().filter(|&i| i >= 20).collect();
    assert_eq!(
        paged(&f.log, search(ARCHIEF, Some(recent))).await,
        recent_ones
    );
    assert_eq!(paged(&f.log, search(KORT, None)).await.len(), 10);
    assert_eq!(f.log.prune(f.clock.now_unix()).await.unwrap(), 10);
    assert_eq!(paged(&f.log, search(KORT, None)).await, Vec::<u64>::new());
}

/// A background append has no caller to hear that it failed: the records it loses are
/// counted, for an operator to alert on; those of a commit that reported an error but
/// landed are not.
async fn background_records_that_cannot_be_kept_are_counted(f: Fixture) {
    let meddled = Arc::new(Meddled::over(&f.store));
    let store: Arc<dyn LogStore> = meddled.clone();
    let log = start(&store, &f.keys, &f.clock).await.unwrap();
    let metrics = loket_http::Metrics::new();
    log.report_to(&loket_logboek::LogMetrics::register(&metrics));
    let lost = || {
        metric(
            &metrics.render(),
            "loket_logboek_background_records_lost_total",
        )
    };
    let on_disk = || async { f.store.scan(0, 100).await.unwrap().len() };
    let until = |what: &'static str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        move || assert!(std::time::Instant::now() < deadline, "{what}")
    };

    log.append_in_background(vec![record(&f, Some(SANNE), PARKEREN, NOW)]);
    log.seal().await.unwrap();
    assert_eq!((on_disk().await, lost()), (1, 0.0));

    // Landed, though its commit said otherwise.
    meddled
        .lose_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    log.append_in_background(vec![record(&f, Some(TOM), PARKEREN, NOW)]);
    let waited = until("the record never landed");
    while on_disk().await < 2 {
        waited();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // Failed: counted once the writer has looked.
    meddled
        .fail_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    log.append_in_background(vec![
        record(&f, Some(SANNE), PARKEREN, NOW),
        record(&f, Some(TOM), PARKEREN, NOW),
    ]);
    let waited = until("never counted");
    while lost() < 2.0 {
        waited();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    log.seal().await.unwrap();
    assert_eq!((on_disk().await, lost()), (2, 2.0));
}

/// `verify` on a log that is being appended to: a commit landing between its reads of
/// records and of heads is no tampering.
async fn verify_holds_while_appends_go_on(f: Fixture) {
    fill(&f, 3).await;
    let log = f.log.clone();
    let records: Vec<NewRecord> = (0..100)
        .map(|_| record(&f, Some(SANNE), PARKEREN, NOW))
        .collect();
    let appends = tokio::spawn(async move {
        for record in records {
            log.append(vec![record]).await.unwrap();
        }
    });
    let mut checked = 0;
    while !appends.is_finished() || checked < 20 {
        let report = verified(&f).await.unwrap();
        assert!(report.records >= 3);
        checked += 1;
    }
    appends.await.unwrap();
}

/// Both ways into the lookup tables exist on both backends (each backend uses one): the
/// sorted order of a bucket for pieces, and a whole bucket in one transaction.
async fn a_bucket_sorts_and_indexes_alike_on_either_backend(f: Fixture) {
    fill(&f, 6).await;
    let sanne = f.log.pseudonyms().bsn(SANNE).as_str().to_owned();
    let tom = f.log.pseudonyms().bsn(TOM).as_str().to_owned();
    let (subjects, traces) = f.store.index_order(0, 65_536).await.unwrap();
    let (first, second) = if sanne < tom {
        ([0, 2, 4], [1, 3, 5])
    } else {
        ([1, 3, 5], [0, 2, 4])
    };
    assert_eq!(
        subjects,
        [first, second].concat(),
        "by subject, then record"
    );
    let mut sorted = traces.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2, 3, 4, 5], "every trace once");

    f.store.index_bucket(0, 65_536).await.unwrap();
    assert_eq!(f.store.indexed_upto().await.unwrap(), 65_536);
    // Indexing a range again gives the same rows, not a conflict.
    f.store.index_bucket(0, 65_536).await.unwrap();
    assert_eq!(count(&f, "SELECT COUNT(*) FROM subject_index").await, 6);
    assert_eq!(count(&f, "SELECT COUNT(*) FROM trace_index").await, 6);
    let sql = format!("SELECT COUNT(*) FROM subject_index WHERE subject = '{sanne}'");
    assert_eq!(count(&f, &sql).await, 3);
}

async fn proofs_verify_against_the_signed_heads(f: Fixture) {
    fill(&f, 5).await;
    let small = f.log.latest_head().await.unwrap().unwrap();
    fill(&f, 12).await;
    let big = f.log.latest_head().await.unwrap().unwrap();
    assert_eq!((small.size, big.size), (5, 17));
    assert!(big.verify(f.log.verifying_key()));
    let leaves = f.store.nodes(&[(0, 3)]).await.unwrap();
    let path = f.log.inclusion_proof(3, big.size).await.unwrap().unwrap();
    assert!(merkle::verify_inclusion(
        &leaves[&(0, 3)],
        3,
        big.size,
        &path,
        &big.root
    ));
    let proof = f
        .log
        .consistency_proof(small.size, big.size)
        .await
        .unwrap()
        .unwrap();
    assert!(merkle::verify_consistency(
        small.size,
        big.size,
        &small.root,
        &big.root,
        &proof
    ));
    assert_eq!(f.log.inclusion_proof(17, 17).await.unwrap(), None);
}

/// The nodes below the lowest stored level are computed from their leaves: every proof
/// over every size verifies, with only the higher levels in the table.
async fn proofs_verify_at_every_size_with_only_the_higher_levels_stored(f: Fixture) {
    let mut heads = Vec::new();
    for _ in 0..40 {
        fill(&f, 1).await;
        heads.push(f.log.latest_head().await.unwrap().unwrap());
    }
    let leaves = f
        .store
        .nodes(&(0..40).map(|i| (0, i)).collect::<Vec<_>>())
        .await
        .unwrap();
    for (n, head) in heads.iter().enumerate() {
        assert_eq!(head.size, u64::try_from(n).unwrap() + 1);
        for index in 0..head.size {
            let path = f
                .log
                .inclusion_proof(index, head.size)
                .await
                .unwrap()
                .unwrap();
            assert!(
                merkle::verify_inclusion(&leaves[&(0, index)], index, head.size, &path, &head.root),
                "leaf {index} in {}",
                head.size
            );
        }
        for earlier in &heads[..n] {
            let proof = f
                .log
                .consistency_proof(earlier.size, head.size)
                .await
                .unwrap()
                .unwrap();
            assert!(
                merkle::verify_consistency(
                    earlier.size,
                    head.size,
                    &earlier.root,
                    &head.root,
                    &proof
                ),
                "{} to {}",
                earlier.size,
                head.size
            );
        }
    }
    // Of 40 leaves: two nodes on level 4 (16 leaves each) and one on level 5.
    assert_eq!(LOWEST_STORED_LEVEL, 4);
    assert_eq!(count(&f, "SELECT COUNT(*) FROM nodes").await, 3);
    assert_eq!(count(&f, "SELECT MIN(level) FROM nodes").await, 4);
}

async fn a_restarted_log_continues_the_same_tree(f: Fixture) {
    fill(&f, 9).await;
    let again = start(&f.store, &f.keys, &f.clock).await.unwrap();
    again
        .append(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await
        .unwrap();
    let reopened = Database::open(&f.url, &schema("logboek_test"))
        .await
        .unwrap();
    assert_eq!(
        log_store(&reopened)
            .latest_head()
            .await
            .unwrap()
            .unwrap()
            .size,
        10
    );
    let report = verified(&f).await.unwrap();
    assert_eq!(report.records, 10);
}

/// A retention past the last date there is (an activity kept for good) keeps the record
/// until then, and the log goes on.
async fn a_retention_past_the_calendar_keeps_the_writer_going(f: Fixture) {
    f.log
        .append(vec![record(&f, Some(SANNE), ARCHIEF, NOW)])
        .await
        .unwrap();
    f.log
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    assert_eq!(verified(&f).await.unwrap().records, 2);
}

async fn a_failing_store_fails_the_append(f: Fixture) {
    fill(&f, 2).await;
    f.database.close().await;
    let result = f
        .log
        .append(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await;
    assert!(result.is_err(), "an append to a closed store must fail");
}

/// A store that things happen to: with `lose_next`, its next commit lands but answers
/// with an error, as when the connection is lost between the commit and its answer; with
/// `fail_next`, its next commit fails; with `prune_before_lookup`, a prune (at that time)
/// runs just before it reads lookup rows.
#[derive(Debug)]
struct Meddled {
    inner: Arc<dyn LogStore>,
    lose_next: std::sync::atomic::AtomicBool,
    fail_next: std::sync::atomic::AtomicBool,
    prune_before_lookup: Option<i64>,
}

impl Meddled {
    fn over(inner: &Arc<dyn LogStore>) -> Self {
        Self {
            inner: inner.clone(),
            lose_next: std::sync::atomic::AtomicBool::new(false),
            fail_next: std::sync::atomic::AtomicBool::new(false),
            prune_before_lookup: None,
        }
    }

    fn failed(&self) -> Result<(), loket_store::StoreError> {
        if self
            .fail_next
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(loket_store::StoreError::Unavailable(
                "the commit failed".into(),
            ));
        }
        Ok(())
    }

    fn lost(&self) -> Result<(), loket_store::StoreError> {
        if self
            .lose_next
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(loket_store::StoreError::Unavailable(
                "the connection was lost before the commit's answer".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl LogStore for Meddled {
    async fn append(
        &self,
        batch: Arc<loket_logboek::Batch>,
    ) -> Result<(), loket_store::StoreError> {
        self.failed()?;
        self.inner.append(batch).await?;
        self.lost()
    }
    fn appends_blocking(&self) -> bool {
        self.inner.appends_blocking()
    }
    fn append_blocking(&self, batch: &loket_logboek::Batch) -> Result<(), loket_store::StoreError> {
        self.failed()?;
        self.inner.append_blocking(batch)?;
        self.lost()
    }
    async fn latest_head(
        &self,
    ) -> Result<Option<loket_logboek::SignedTreeHead>, loket_store::StoreError> {
        self.inner.latest_head().await
    }
    async fn heads(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<loket_logboek::SignedTreeHead>, loket_store::StoreError> {
        self.inner.heads(from_size, limit).await
    }
    async fn head(
        &self,
        size: u64,
    ) -> Result<Option<loket_logboek::SignedTreeHead>, loket_store::StoreError> {
        self.inner.head(size).await
    }
    async fn nodes(
        &self,
        ids: &[merkle::NodeId],
    ) -> Result<std::collections::HashMap<merkle::NodeId, Hash>, loket_store::StoreError> {
        self.inner.nodes(ids).await
    }
    async fn scan(
        &self,
        from: u64,
        limit: u32,
    ) -> Result<Vec<loket_logboek::Entry>, loket_store::StoreError> {
        self.inner.scan(from, limit).await
    }
    async fn query(
        &self,
        filter: &Filter,
    ) -> Result<Vec<loket_logboek::Entry>, loket_store::StoreError> {
        self.inner.query(filter).await
    }
    async fn query_among(
        &self,
        filter: &Filter,
        among: &[u64],
    ) -> Result<Vec<loket_logboek::Entry>, loket_store::StoreError> {
        self.inner.query_among(filter, among).await
    }
    async fn indexed_upto(&self) -> Result<u64, loket_store::StoreError> {
        self.inner.indexed_upto().await
    }
    async fn lookup_rows(
        &self,
        bucket: u64,
    ) -> Result<loket_logboek::LookupRows, loket_store::StoreError> {
        if let Some(now) = self.prune_before_lookup {
            self.inner.prune(now, 1000).await?;
        }
        self.inner.lookup_rows(bucket).await
    }
    async fn lookup_keys(
        &self,
        from: u64,
    ) -> Result<Vec<loket_logboek::LookupKeys>, loket_store::StoreError> {
        self.inner.lookup_keys(from).await
    }
    async fn index_order(
        &self,
        from: u64,
        end: u64,
    ) -> Result<(Vec<u64>, Vec<u64>), loket_store::StoreError> {
        self.inner.index_order(from, end).await
    }
    fn indexes_beside_appends(&self) -> bool {
        self.inner.indexes_beside_appends()
    }
    async fn index_bucket(&self, from: u64, end: u64) -> Result<(), loket_store::StoreError> {
        self.inner.index_bucket(from, end).await
    }
    async fn prune(&self, now: i64, limit: u32) -> Result<u64, loket_store::StoreError> {
        self.inner.prune(now, limit).await
    }
}

/// A commit that landed but answered with an error: its callers hear of the error, and
/// the log goes on after it (before, every later commit numbered its records over it and
/// failed on the primary key until a restart).
async fn after_a_commit_that_landed_but_failed_the_log_goes_on_after_it(f: Fixture) {
    fill(&f, 3).await;
    let store = Arc::new(Meddled::over(&f.store));
    let as_store: Arc<dyn LogStore> = store.clone();
    let log = start(&as_store, &f.keys, &f.clock).await.unwrap();
    store
        .lose_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = log
        .append(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await;
    assert!(failed.is_err(), "the caller hears of the error");
    let indexes = log
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    assert_eq!(indexes, [4], "after the record that landed");
    log.seal().await.unwrap();
    let report = verified(&f).await.unwrap();
    assert_eq!(report.records, 5);
}

async fn after_a_failed_commit_the_log_goes_on_from_the_last_committed_tree(f: Fixture) {
    fill(&f, 3).await;
    // Something else occupies the next index: the commit fails on its primary key.
    tamper(
        &f,
        "INSERT INTO records (idx, bucket, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash)
         SELECT 3, 0, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash FROM records WHERE idx = 0",
    )
    .await;
    let failed = f
        .log
        .append(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await;
    assert!(failed.is_err());
    tamper(&f, "DELETE FROM records WHERE idx = 3").await;
    let indexes = f
        .log
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    assert_eq!(indexes, [3], "the failed batch's index is used again");
    let report = verified(&f).await.unwrap();
    assert_eq!(report.records, 4);
}

/// Proofs are built from the stored tree nodes, which no record's hash covers: `verify`
/// recomputes them from the records and names one that was changed.
async fn a_changed_tree_node_is_named(f: Fixture) {
    fill(&f, 40).await;
    verified(&f).await.unwrap();
    tamper(
        &f,
        "UPDATE nodes SET hash = (SELECT leaf_hash FROM records WHERE idx = 0) WHERE level = 4 AND idx = 1",
    )
    .await;
    assert_eq!(
        tampered(verified(&f).await),
        Tampered::NodeModified { level: 4, index: 1 }
    );
}

/// Below `indexed_upto` an inzage by subject or trace looks only in the lookup tables,
/// which no hash covers: `verify` checks them against the records, and names a record
/// whose row was removed, and a row that makes a record findable by a key it lacks.
async fn a_record_hidden_from_the_lookup_tables_is_named(f: Fixture) {
    fill(&f, 6).await;
    // The bucket into the tables at once, as the log does when it is complete.
    let index_again = || f.store.index_bucket(0, 65_536);
    index_again().await.unwrap();
    verified(&f).await.unwrap();

    tamper(&f, "DELETE FROM subject_index WHERE idx = 3").await;
    assert_eq!(
        tampered(verified(&f).await),
        Tampered::NotInLookup {
            index: 3,
            by: Lookup::Subject
        }
    );
    index_again().await.unwrap();
    tamper(&f, "DELETE FROM trace_index WHERE idx = 5").await;
    assert_eq!(
        tampered(verified(&f).await),
        Tampered::NotInLookup {
            index: 5,
            by: Lookup::Trace
        }
    );
    index_again().await.unwrap();
    verified(&f).await.unwrap();

    // Tom's record 1 made findable as Sanne's.
    let sanne = f.log.pseudonyms().bsn(SANNE);
    tamper(
        &f,
        &format!(
            "INSERT INTO subject_index (bucket, subject, idx) VALUES (0, '{}', 1)",
            sanne.as_str()
        ),
    )
    .await;
    assert_eq!(
        tampered(verified(&f).await),
        Tampered::LookupForged {
            index: 1,
            by: Lookup::Subject
        }
    );
}

/// A log of exactly one bucket, which the log moved into the lookup tables itself: the
/// bucket is checked once, as a whole, and a row removed from it is named.
async fn verify_checks_a_log_that_ends_with_a_complete_bucket(f: Fixture) {
    const BUCKET: u64 = 65_536;
    let metrics = loket_http::Metrics::new();
    f.log
        .report_to(&loket_logboek::LogMetrics::register(&metrics));
    let lowered = || {
        metric(
            &metrics.render(),
            "loket_logboek_lookup_position_lowered_total",
        )
    };
    fill_in_batches(&f, BUCKET).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while f.log.indexed_upto() < BUCKET {
        assert!(std::time::Instant::now() < deadline, "never indexed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    f.log.latest_head().await.unwrap();
    assert_eq!(verified(&f).await.unwrap().records, BUCKET);
    tamper(&f, "DELETE FROM trace_index WHERE idx = 65535").await;
    assert_eq!(
        tampered(verified(&f).await),
        Tampered::NotInLookup {
            index: 65_535,
            by: Lookup::Trace
        }
    );

    // Lowering the lookup tables' position as well passes `verify` (it expects no rows
    // above it), and would hide the records below the old position from a running
    // log's inzage. The log notices the lowered position, reads those records from the
    // records themselves again, and puts them back in the lookup tables.
    let sanne = Filter {
        subject: Some(f.log.pseudonyms().bsn(SANNE).as_str().to_owned()),
        limit: 1,
        ..Filter::default()
    };
    let newest = f.log.query(&sanne).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert!(lowered() == 0.0, "nothing lowered yet");
    tamper(&f, "DELETE FROM subject_index").await;
    tamper(&f, "UPDATE index_state SET indexed_upto = 0").await;
    assert!(verified(&f).await.is_ok(), "verify cannot tell");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = f.log.query(&sanne).await.unwrap();
        if found.len() == 1 {
            assert_eq!(found[0].index, newest[0].index);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still hidden");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    while f.log.indexed_upto() < BUCKET {
        assert!(std::time::Instant::now() < deadline, "never indexed again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        count(&f, "SELECT indexed_upto FROM index_state").await,
        65_536
    );
    assert!(lowered() == 1.0, "the log said so");
    for table in ["subject_index", "trace_index"] {
        let rows = count(&f, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(rows, 65_536, "{table}");
    }
    assert_eq!(verified(&f).await.unwrap().records, BUCKET);
}

/// A bucket moves the lookup position only from where the bucket began: one lowered
/// behind the log's back meanwhile stays lowered, for the writer to find and mend,
/// rather than being covered by the bucket's end.
async fn the_lookup_position_moves_only_from_where_its_bucket_began(f: Fixture) {
    tamper(
        &f,
        "INSERT INTO index_state (id, indexed_upto) VALUES (1, 5) \
         ON CONFLICT (id) DO UPDATE SET indexed_upto = 5",
    )
    .await;
    f.store.index_bucket(65_536, 131_072).await.unwrap();
    assert_eq!(f.store.indexed_upto().await.unwrap(), 5);
    let last_piece = loket_logboek::Batch {
        indexed_upto: Some(131_072),
        indexed_from: 65_536,
        unsynced: true,
        ..loket_logboek::Batch::default()
    };
    f.store.append(Arc::new(last_piece)).await.unwrap();
    assert_eq!(f.store.indexed_upto().await.unwrap(), 5);
    f.store.index_bucket(5, 65_536).await.unwrap();
    assert_eq!(f.store.indexed_upto().await.unwrap(), 65_536);
}

/// A prune takes a record's lookup rows away with its subject and trace. One that runs
/// after `verify` read the record and before it read the rows is no tampering.
async fn a_record_pruned_while_verify_reads_is_not_called_hidden(f: Fixture) {
    let expired = (0..4)
        .map(|_| record(&f, Some(SANNE), KORT, NOW - Duration::days(10)))
        .collect();
    f.log.append(expired).await.unwrap();
    fill(&f, 4).await;
    f.store.index_bucket(0, 65_536).await.unwrap();
    let meddled: Arc<dyn LogStore> = Arc::new(Meddled {
        prune_before_lookup: Some(f.clock.now_unix()),
        ..Meddled::over(&f.store)
    });
    let key = f.log.verifying_key();
    let known = head_file(&f).read(key).unwrap();
    let report = verify(meddled.as_ref(), key, f.clock.now_unix(), known.as_ref())
        .await
        .unwrap();
    assert_eq!(report.pruned, 0, "the records were read before the prune");
    assert_eq!(
        count(&f, "SELECT COUNT(*) FROM records WHERE body IS NULL").await,
        4,
        "and pruned before their lookup rows were read"
    );
    assert_eq!(verified(&f).await.unwrap().pruned, 4);
}

/// One way an intruder with write access to the database changes a log.
#[derive(Debug, Clone, Copy)]
enum Meddling {
    /// A record's content changed (its digest left as it was).
    Body(u64),
    /// A record's subject column made another resident's.
    Subject(u64),
    /// A record's leaf hash taken from another record.
    Leaf(u64, u64),
    /// Two records' places swapped, every column with them.
    Swap(u64, u64),
    /// A record removed.
    Delete(u64),
}

/// Whatever one change an intruder makes to the stored records, `verify` finds it and
/// names the first record it touched; put back, the log verifies whole again. The log is
/// filled once, and each round works on a copy of its records it restores afterwards.
async fn any_one_change_to_the_records_is_named_by_verify(f: Fixture) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    const N: u64 = 24;
    fill(&f, N as usize).await;
    verified(&f).await.unwrap();
    let index = || 0..N;
    let meddling = prop_oneof![
        index().prop_map(Meddling::Body),
        index().prop_map(Meddling::Subject),
        (index(), index())
            .prop_filter("another record", |(a, b)| a != b)
            .prop_map(|(a, b)| Meddling::Leaf(a, b)),
        (index(), index())
            .prop_filter("two records", |(a, b)| a != b)
            .prop_map(|(a, b)| Meddling::Swap(a, b)),
        index().prop_map(Meddling::Delete),
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..40 {
        let change = meddling.new_tree(&mut runner).unwrap().current();
        tamper(&f, "CREATE TABLE kept AS SELECT * FROM records").await;
        let expected = match change {
            Meddling::Body(i) => {
                tamper(&f, &format!("UPDATE records SET body = replace(body, 'brp personen', 'rdw voertuigen') WHERE idx = {i}")).await;
                Some(Tampered::BodyModified(i))
            }
            Meddling::Subject(i) => {
                // Records alternate between Sanne and Tom: the neighbour is the other one.
                let other = if i == 0 { 1 } else { i - 1 };
                tamper(&f, &format!("UPDATE records SET subject = (SELECT subject FROM kept WHERE idx = {other}) WHERE idx = {i}")).await;
                Some(Tampered::ColumnsModified(i))
            }
            Meddling::Leaf(i, j) => {
                tamper(&f, &format!("UPDATE records SET leaf_hash = (SELECT leaf_hash FROM kept WHERE idx = {j}) WHERE idx = {i}")).await;
                Some(Tampered::LeafModified(i))
            }
            Meddling::Swap(i, j) => {
                let columns = [
                    "trace_id",
                    "subject",
                    "activity",
                    "start_ms",
                    "expires_at",
                    "body",
                    "body_digest",
                    "leaf_hash",
                ];
                for (to, from) in [(i, j), (j, i)] {
                    let set: Vec<String> = columns
                        .iter()
                        .map(|c| format!("{c} = (SELECT {c} FROM kept WHERE idx = {from})"))
                        .collect();
                    tamper(
                        &f,
                        &format!("UPDATE records SET {} WHERE idx = {to}", set.join(", ")),
                    )
                    .await;
                }
                Some(Tampered::LeafModified(i.min(j)))
            }
            Meddling::Delete(i) => {
                tamper(&f, &format!("DELETE FROM records WHERE idx = {i}")).await;
                // The last one gone is a log cut short; any other leaves a gap.
                (i + 1 < N).then_some(Tampered::Missing(i))
            }
        };
        let found = tampered(verified(&f).await);
        match expected {
            Some(named) => assert_eq!(found, named, "{change:?}"),
            None => assert_eq!(
                found,
                Tampered::Truncated {
                    heads: N,
                    records: N - 1
                },
                "{change:?}"
            ),
        }
        tamper(&f, "DELETE FROM records").await;
        tamper(&f, "INSERT INTO records SELECT * FROM kept").await;
        tamper(&f, "DROP TABLE kept").await;
        assert_eq!(
            verified(&f).await.unwrap().records,
            N,
            "put back after {change:?}"
        );
    }
}

async fn a_modified_record_is_named(f: Fixture) {
    fill(&f, 6).await;
    tamper(
        &f,
        "UPDATE records SET body = replace(body, 'brp personen', 'rdw voertuigen') WHERE idx = 3",
    )
    .await;
    assert_eq!(tampered(verified(&f).await), Tampered::BodyModified(3));
}

/// `verify` reads the next page of records while it checks one (20,000 a page): a log of
/// three pages verifies whole, and a record changed or removed in a page that was read
/// ahead is named like any other.
async fn verify_reads_ahead_and_still_names_the_first_bad_record(f: Fixture) {
    fill_in_batches(&f, 45_000).await;
    f.log.latest_head().await.unwrap();
    let report = verified(&f).await.unwrap();
    assert_eq!(report.records, 45_000);
    tamper(&f, "DELETE FROM records WHERE idx = 40000").await;
    assert_eq!(tampered(verified(&f).await), Tampered::Missing(40_000));
    tamper(
        &f,
        "UPDATE records SET body = replace(body, 'brp personen', 'rdw voertuigen') WHERE idx = 30000",
    )
    .await;
    assert_eq!(tampered(verified(&f).await), Tampered::BodyModified(30_000));
}

async fn a_record_rewritten_with_new_digests_breaks_the_signed_root(f: Fixture) {
    fill(&f, 6).await;
    // The intruder recomputes digest and leaf hash, but cannot sign a new tree head.
    let entry = f.store.scan(2, 1).await.unwrap().remove(0);
    let body = entry
        .body
        .unwrap()
        .replace("brp personen", "rdw voertuigen");
    let digest: Hash = sha2_digest(body.as_bytes());
    let leaf = merkle::leaf_hash(&leaf_input(2, entry.expires_at, &digest));
    let (d, l) = (hex(&digest), hex(&leaf));
    let sql = match f.database {
        Database::Sqlite(_) => format!(
            "UPDATE records SET body = '{body}', body_digest = X'{d}', leaf_hash = X'{l}' WHERE idx = 2"
        ),
        Database::Postgres(_) => format!(
            "UPDATE records SET body = '{body}', body_digest = '\\x{d}', leaf_hash = '\\x{l}' WHERE idx = 2"
        ),
    };
    tamper(&f, &sql).await;
    assert_eq!(
        tampered(verified(&f).await),
        Tampered::RootMismatch {
            from: 2,
            to: 2,
            size: 3
        }
    );
}

async fn a_removed_record_is_named(f: Fixture) {
    fill(&f, 6).await;
    tamper(&f, "DELETE FROM records WHERE idx = 4").await;
    assert_eq!(tampered(verified(&f).await), Tampered::Missing(4));
}

async fn swapped_records_are_named(f: Fixture) {
    fill(&f, 6).await;
    tamper(&f, "UPDATE records SET idx = -1 WHERE idx = 1").await;
    tamper(&f, "UPDATE records SET idx = 1 WHERE idx = 2").await;
    tamper(&f, "UPDATE records SET idx = 2 WHERE idx = -1").await;
    assert_eq!(tampered(verified(&f).await), Tampered::LeafModified(1));
}

/// A record put below the first (at a negative index, which the log never writes) is
/// not passed over by `verify`, nor served by the read API as some other index.
async fn a_record_inserted_below_the_first_is_refused(f: Fixture) {
    fill(&f, 3).await;
    tamper(
        &f,
        "INSERT INTO records (idx, bucket, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash) \
         SELECT -1, -1, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash FROM records WHERE idx = 0",
    )
    .await;
    let error = verified(&f).await.unwrap_err().to_string();
    assert!(error.contains("index -1"), "{error}");
    let portal = portal_signer("the portal");
    let base = serve_read_api(&f, &portal).await;
    let answer = reqwest::Client::new()
        .post(format!("{base}/processing-activities"))
        .bearer_auth("fg-token")
        .json(&json!({"dpl.core.processing_activity_id": PARKEREN}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503, "not served as another index");
}

async fn an_inserted_record_is_named(f: Fixture) {
    fill(&f, 4).await;
    tamper(
        &f,
        "INSERT INTO records (idx, bucket, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash)
         SELECT 4, 0, trace_id, subject, activity, start_ms, expires_at, body, body_digest, leaf_hash FROM records WHERE idx = 3",
    )
    .await;
    let found = tampered(verified(&f).await);
    assert_eq!(found, Tampered::LeafModified(4));
}

async fn a_forged_tree_head_is_refused(f: Fixture) {
    fill(&f, 4).await;
    tamper(
        &f,
        "UPDATE tree_heads SET signed_at_ms = signed_at_ms + 1 WHERE size = 2",
    )
    .await;
    assert_eq!(tampered(verified(&f).await), Tampered::BadSignature(2));
}

async fn a_removed_tail_with_its_heads_left_is_named(f: Fixture) {
    fill(&f, 5).await;
    tamper(&f, "DELETE FROM records WHERE idx >= 3").await;
    assert_eq!(
        tampered(verified(&f).await),
        Tampered::Truncated {
            heads: 4,
            records: 3
        }
    );
}

/// Two records about Sanne that ended three days ago: record 0 under a short retention
/// (expired), record 1 under the parking permit's (kept).
async fn one_expired_one_kept(f: &Fixture) {
    for activity in [KORT, PARKEREN] {
        f.log
            .append(vec![record(
                f,
                Some(SANNE),
                activity,
                NOW - Duration::days(3),
            )])
            .await
            .unwrap();
    }
}

/// The indexes of the records about Sanne that still have their body.
async fn left_about_sanne(f: &Fixture) -> Vec<u64> {
    let sanne = f.log.pseudonyms().bsn(SANNE).as_str().to_owned();
    let filter = Filter {
        subject: Some(sanne),
        limit: 10,
        ..Filter::default()
    };
    let left = f.log.query(&filter).await.unwrap();
    left.iter().map(|e| e.index).collect()
}

async fn expired_records_are_pruned_and_the_log_still_verifies(f: Fixture) {
    one_expired_one_kept(&f).await;
    assert_eq!(f.log.prune(f.clock.now_unix()).await.unwrap(), 1);
    assert_eq!(left_about_sanne(&f).await, [1]);
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.pruned), (2, 1));
    // Removing a record whose time has not come is tampering.
    tamper(&f, "UPDATE records SET body = NULL WHERE idx = 1").await;
    assert_eq!(tampered(verified(&f).await), Tampered::PrunedEarly(1));
}

/// A running log prunes by itself: at once when it starts pruning, then on its interval,
/// until it is told to stop.
async fn a_running_log_prunes_expired_records_until_it_stops(f: Fixture) {
    one_expired_one_kept(&f).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let log = f.log.clone();
    let pruning = tokio::spawn(async move {
        log.prune_until(std::time::Duration::from_secs(3600), stopped)
            .await;
    });
    let mut left = Vec::new();
    for _ in 0..200 {
        left = left_about_sanne(&f).await;
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(left, [1]);
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), pruning)
        .await
        .expect("pruning stops when told to")
        .unwrap();
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.pruned), (2, 1));
}

/// A bucket of 65,536 records goes into the lookup tables only once it is complete (a
/// piece at a time while the writer is idle, or in one transaction beside the appends);
/// until then its subjects and traces are in memory. Lookups answer the same before and
/// after, and after a restart before the bucket was complete.
async fn lookups_answer_alike_before_and_after_a_bucket_reaches_the_lookup_tables(f: Fixture) {
    const BUCKET: u64 = 65_536;
    let sanne = f.log.pseudonyms().bsn(SANNE).as_str().to_owned();
    let by_sanne = || Filter {
        subject: Some(sanne.clone()),
        limit: 997,
        ..Filter::default()
    };
    // Records 0–3 expire nine days ago, records 4–7 four days ago.
    let mut early = Vec::new();
    for days in [10, 10, 10, 10, 5, 5, 5, 5] {
        early.push(record(&f, Some(SANNE), KORT, NOW - Duration::days(days)));
    }
    f.log.append(early).await.unwrap();
    let mut appended = 8;
    while appended < BUCKET - 100 {
        let batch: Vec<NewRecord> = (appended..(appended + 1000).min(BUCKET - 100))
            .map(|i| {
                let bsn = match i % 7 {
                    0 => Some(SANNE),
                    3 | 5 => None,
                    _ => Some(TOM),
                };
                record(&f, bsn, PARKEREN, NOW - Duration::hours(1))
            })
            .collect();
        appended += batch.len() as u64;
        f.log.append(batch).await.unwrap();
    }
    assert_eq!(
        f.log.indexed_upto(),
        0,
        "the bucket is not in the tables yet"
    );
    let expected = every(&f, Some(&sanne), None).await;
    assert!(expected.len() > 9_000);
    assert_eq!(paged(&f.log, by_sanne()).await, expected);

    // Pruned before the bucket reaches the tables: never indexed at all.
    let six_days_ago = (NOW - Duration::days(6)).unix_timestamp();
    assert_eq!(f.log.prune(six_days_ago).await.unwrap(), 4);
    let one = |i: u64| {
        record(
            &f,
            Some(if i.is_multiple_of(10) { SANNE } else { TOM }),
            PARKEREN,
            NOW,
        )
    };
    for i in 0..20 {
        f.log.append(vec![one(i)]).await.unwrap();
    }
    // A restart rebuilds the tail from the records; the bucket completes after it.
    let log = start(&f.store, &f.keys, &f.clock).await.unwrap();
    assert_eq!(log.indexed_upto(), 0);
    let mut appended = BUCKET - 80;
    while appended < BUCKET + 100 {
        log.append((0..60).map(one).collect()).await.unwrap();
        appended += 60;
    }
    // SQLite: the bucket is sorted beside the writer, which puts it in a piece at a time
    // while no append is waiting. Postgres: the store indexes the whole bucket beside
    // the appends. Either way without another append.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while log.indexed_upto() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the bucket never reached the lookup tables"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(log.indexed_upto(), BUCKET);
    let in_bucket = |table: &str, column: &str| {
        format!(
            "SELECT COUNT(*) FROM records WHERE idx < {BUCKET} AND {column} IS NOT NULL AND idx NOT IN (SELECT idx FROM {table})"
        )
    };
    assert_eq!(count(&f, &in_bucket("subject_index", "subject")).await, 0);
    assert_eq!(count(&f, &in_bucket("trace_index", "trace_id")).await, 0);
    assert_eq!(
        count(&f, "SELECT COUNT(*) FROM subject_index WHERE idx < 4").await,
        0
    );
    assert_eq!(
        count(
            &f,
            &format!("SELECT COUNT(*) FROM subject_index WHERE idx >= {BUCKET}")
        )
        .await,
        0,
        "the next bucket stays in memory"
    );
    let expected = every(&f, Some(&sanne), None).await;
    assert_eq!(paged(&log, by_sanne()).await, expected);
    let activity = Filter {
        activity: Some(KORT.into()),
        ..by_sanne()
    };
    assert_eq!(paged(&log, activity).await, [7, 6, 5, 4]);

    // One trace in the tables, one in memory: each found exactly.
    let entries = f.store.scan(1_000, 1).await.unwrap();
    let in_tables = entries[0].trace_id.clone().unwrap();
    let entries = f.store.scan(BUCKET + 50, 1).await.unwrap();
    let in_memory = entries[0].trace_id.clone().unwrap();
    for (trace, index) in [(in_tables, 1_000), (in_memory, BUCKET + 50)] {
        let filter = Filter {
            trace_id: Some(trace.clone()),
            limit: 10,
            ..Filter::default()
        };
        assert_eq!(paged(&log, filter).await, [index]);
        assert_eq!(every(&f, None, Some(&trace)).await, [index]);
    }

    // Pruned after: taken out of the tables too.
    assert_eq!(log.prune(f.clock.now_unix()).await.unwrap(), 4);
    for table in ["subject_index", "trace_index"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE idx < 8");
        assert_eq!(count(&f, &sql).await, 0, "{table}");
    }
    let expected = every(&f, Some(&sanne), None).await;
    assert_eq!(paged(&log, by_sanne()).await, expected);
    assert!(!expected.contains(&7));
    let report = verified(&f).await.unwrap();
    assert_eq!(report.pruned, 8);
}

/// A 400 problem+json whose first invalid parameter is `name`.
async fn names_invalid(answer: reqwest::Response, name: &str, asked: &str) {
    assert_eq!(answer.status(), 400, "{asked}");
    assert_eq!(
        answer.headers()["content-type"],
        "application/problem+json",
        "{asked}"
    );
    let problem: Value = answer.json().await.unwrap();
    assert_eq!(problem["invalidParams"][0]["name"], name, "{asked}");
}

fn portal_signer(secret: &str) -> AssertionSigner {
    AssertionSigner::from_secret(&Secret::new(format!("{secret:<32}"))).unwrap()
}

/// The read API of `f`'s log, with the portal (its token and its assertions' key) and the
/// privacy officer as readers; its base URL.
async fn serve_read_api(f: &Fixture, portal: &AssertionSigner) -> String {
    let readers = vec![
        Reader::new(
            "portal",
            &Secret::new("portal-token".into()),
            Role::Resident {
                portal_key: portal.public_key(),
            },
        ),
        Reader::new("fg", &Secret::new("fg-token".into()), Role::PrivacyOfficer),
    ];
    let router = api::service(f.log.clone(), readers).into_router(loket_http::Metrics::new());
    // Every answer these tests get is one the API's OpenAPI document describes.
    let router = Document::parse(api::OPENAPI).checking(router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}{}", listener.local_addr().unwrap(), api::BASE);
    tokio::spawn(loket_http::serve(listener, router, std::future::pending()));
    base
}

/// What the read API answers the privacy officer for `filter`.
async fn as_privacy_officer(client: &reqwest::Client, base: &str, filter: &Value) -> Value {
    client
        .post(format!("{base}/processing-activities"))
        .bearer_auth("fg-token")
        .json(filter)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn about(bsn: &str) -> Value {
    json!({"dpl.core.data_subject_id": bsn, "dpl.core.data_subject_id_type": "BSN"})
}

/// Whatever filter and paging the portal sends for a signed-in resident (another BSN, a
/// trace of someone else's, odd times, unknown keys, bad limits and cursors), the answer
/// is that resident's own records or a problem: never another resident's record.
async fn whatever_the_portal_asks_a_resident_sees_only_their_own_records(f: Fixture) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    // Even indexes are Sanne's, odd ones Tom's.
    fill(&f, 12).await;
    let portal = portal_signer("the portal");
    let base = serve_read_api(&f, &portal).await;
    let client = reqwest::Client::new();
    let toms = as_privacy_officer(&client, &base, &about(TOM)).await;
    let toms_trace = toms["processingActivities"][0]["traceId"].clone();
    assert!(toms_trace.is_string(), "{toms}");
    let value = prop_oneof![
        Just(json!(SANNE)),
        Just(json!(TOM)),
        Just(json!("123")),
        Just(json!("BSN")),
        Just(toms_trace),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(|t| json!(t)),
        Just(json!(null)),
    ];
    let key = prop_oneof![
        Just("dpl.core.data_subject_id".to_owned()),
        Just("dpl.core.data_subject_id_type".to_owned()),
        Just("traceId".to_owned()),
        Just("startTime".to_owned()),
        Just("endTime".to_owned()),
        "[a-zA-Z.]{1,10}",
    ];
    // Half the bodies start as the portal's own question about Sanne and change a key
    // or two; the other half are made up whole.
    let body = (
        any::<bool>(),
        proptest::collection::btree_map(key, value, 0..3),
    );
    let query = (
        proptest::sample::select(vec![
            "",
            "",
            "limit=1&",
            "limit=0&",
            "limit=veel&",
            "limit=1000&",
        ]),
        proptest::sample::select(vec![
            "",
            "",
            "cursor=4",
            "cursor=-1",
            "cursor=x",
            "cursor=99",
        ]),
    );
    let strategy = (body, query);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let signed_in = portal.sign(&Bsn::parse(SANNE).unwrap(), &f.log.verifying_key().0, NOW);
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..150 {
        let ((from_sanne, changes), (limit, cursor)) =
            strategy.new_tree(&mut runner).unwrap().current();
        let mut body = if from_sanne { about(SANNE) } else { json!({}) };
        for (key, value) in changes {
            body[key] = value;
        }
        let response = client
            .post(format!("{base}/processing-activities?{limit}{cursor}"))
            .bearer_auth("portal-token")
            .header(resident_assertion::HEADER, &signed_in)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let answer: Value = response.json().await.unwrap();
        match status {
            200 => {
                answered += 1;
                for record in answer["processingActivities"].as_array().unwrap() {
                    let index = record["logIndex"].as_u64().unwrap();
                    assert_eq!(index % 2, 0, "{body} {limit}{cursor}: Tom's record {index}");
                }
            }
            400 | 403 => {
                refused += 1;
                assert_eq!(content_type, "application/problem+json", "{body}");
                assert!(answer["code"].is_string(), "{body}: {answer}");
            }
            other => panic!("{body} {limit}{cursor}: {other} {answer}"),
        }
    }
    assert!(
        answered > 0 && refused > 0,
        "{answered} answered, {refused} refused"
    );
}

/// The store finds records by columns outside the hashed body. A record moved to another
/// resident by its `subject` column (by someone who can write the database) is found
/// for that resident, but the read API serves only records whose body says so.
async fn a_record_moved_to_another_resident_by_its_columns_is_not_served(f: Fixture) {
    // Even indexes are Sanne's, odd ones Tom's.
    fill(&f, 4).await;
    let sanne = f.log.pseudonyms().bsn(SANNE);
    tamper(
        &f,
        &format!(
            "UPDATE records SET subject = '{}' WHERE idx = 1",
            sanne.as_str()
        ),
    )
    .await;
    // `verify` names it.
    assert_eq!(tampered(verified(&f).await), Tampered::ColumnsModified(1));
    // Started again, the log reads its unindexed records' subjects from the columns.
    let again = start(&f.store, &f.keys, &f.clock).await.unwrap();
    let f = Fixture { log: again, ..f };
    let filter = Filter {
        subject: Some(sanne.as_str().to_owned()),
        limit: 10,
        ..Filter::default()
    };
    let found: Vec<u64> = f
        .log
        .query(&filter)
        .await
        .unwrap()
        .iter()
        .map(|e| e.index)
        .collect();
    assert!(
        found.contains(&1),
        "the store finds it by the column: {found:?}"
    );
    let portal = portal_signer("the portal");
    let base = serve_read_api(&f, &portal).await;
    let client = reqwest::Client::new();
    let answer = as_privacy_officer(&client, &base, &about(SANNE)).await;
    assert_eq!(log_indexes(&answer), [2, 0], "{answer}");
    let signed_in = portal.sign(&Bsn::parse(SANNE).unwrap(), &f.log.verifying_key().0, NOW);
    let as_sanne: Value = client
        .post(format!("{base}/processing-activities"))
        .bearer_auth("portal-token")
        .header(resident_assertion::HEADER, &signed_in)
        .json(&about(SANNE))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        as_sanne["processingActivities"].as_array().unwrap().len(),
        2
    );
    // A body that no longer reads is left out too; the rest is still served.
    tamper(&f, "UPDATE records SET body = '{' WHERE idx = 2").await;
    let answer = as_privacy_officer(&client, &base, &about(SANNE)).await;
    assert_eq!(log_indexes(&answer), [0], "{answer}");
}

/// The log indexes of the records an inzage answer serves, in its order.
fn log_indexes(answer: &Value) -> Vec<u64> {
    answer["processingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["logIndex"].as_u64().unwrap())
        .collect()
}

async fn the_read_api_answers_authorised_readers_only(f: Fixture) {
    fill(&f, 4).await;
    let portal = portal_signer("the portal");
    let base = serve_read_api(&f, &portal).await;
    let client = reqwest::Client::new();
    let signed_in = portal.sign(&Bsn::parse(SANNE).unwrap(), &f.log.verifying_key().0, NOW);
    let post = |token: &str, body: Value| {
        client
            .post(format!("{base}/processing-activities?limit=1"))
            .bearer_auth(token)
            .header(resident_assertion::HEADER, &signed_in)
            .json(&body)
            .send()
    };
    let sanne = about(SANNE);

    let response = post("portal-token", sanne.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["api-version"], api::API_VERSION);
    let body: Value = response.json().await.unwrap();
    let found = &body["processingActivities"][0];
    assert_eq!(found["logIndex"], 2);
    assert_eq!(
        found["verwerkingsactiviteit"]["grondslag"]["nl"],
        "Parkeerverordening Voorbeeldstad"
    );
    assert_eq!(found["attributes"]["dpl.core.data_subject_id_type"], "BSN");
    assert_eq!(body["pagination"]["nextCursor"], "2");

    let wrong = post("guess", sanne.clone()).await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.headers()["content-type"], "application/problem+json");
    // Without valid credentials nothing of the request is read: not its body either.
    let unread = client
        .post(format!("{base}/processing-activities?limit=many"))
        .bearer_auth("guess")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(unread.status(), 401);

    let trace = found["traceId"].as_str().unwrap().to_owned();
    let by_trace = json!({"traceId": trace});
    assert_eq!(
        post("portal-token", by_trace.clone())
            .await
            .unwrap()
            .status(),
        403
    );
    let fg: Value = post("fg-token", by_trace)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fg["processingActivities"][0]["logIndex"], 2);

    let bad = post(
        "fg-token",
        json!({"dpl.core.data_subject_id": "123", "dpl.core.data_subject_id_type": "BSN"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(
        problem["invalidParams"][0]["name"],
        "dpl.core.data_subject_id"
    );
    assert_eq!(
        post("fg-token", json!({"foo": 1})).await.unwrap().status(),
        400
    );
    assert_eq!(post("fg-token", json!({})).await.unwrap().status(), 400);
    for (query, name) in [
        ("limit=many", "limit"),
        ("limit=0", "limit"),
        ("page=2", "page"),
    ] {
        let answer = reqwest::Client::new()
            .post(format!("{base}/processing-activities?{query}"))
            .bearer_auth("fg-token")
            .json(&sanne)
            .send()
            .await
            .unwrap();
        names_invalid(answer, name, query).await;
    }

    // Sanne's records began 4 and 2 minutes before NOW; a time window picks one. The
    // bounds are the records' start times in milliseconds, both inclusive.
    let ms = |minutes: i64| {
        i64::try_from((NOW - Duration::minutes(minutes)).unix_timestamp_nanos() / 1_000_000)
            .unwrap()
    };
    let in_window = |start: Option<i64>, end: Option<i64>| {
        let mut body = sanne.clone();
        if let Some(start) = start {
            body["startTime"] = json!(start);
        }
        if let Some(end) = end {
            body["endTime"] = json!(end);
        }
        let client = client.clone();
        let base = base.clone();
        async move {
            let found = as_privacy_officer(&client, &base, &body).await;
            found["processingActivities"]
                .as_array()
                .unwrap_or_else(|| panic!("{found}"))
                .iter()
                .map(|r| r["logIndex"].as_u64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(in_window(None, None).await, [2, 0]);
    assert_eq!(in_window(Some(ms(3)), None).await, [2]);
    assert_eq!(in_window(None, Some(ms(3))).await, [0]);
    assert_eq!(in_window(Some(ms(4)), Some(ms(2))).await, [2, 0]);
    assert_eq!(in_window(Some(ms(1)), None).await, Vec::<u64>::new());

    let head: Value = client
        .get(format!("{base}/tree-heads/latest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(head["treeSize"], 4);
    let proof = client
        .get(format!("{base}/proofs/inclusion?index=2&treeSize=4"))
        .send()
        .await
        .unwrap();
    assert_eq!(proof.status(), 200);
    // The record as shown, hashed by the reader, is the leaf the log proves: what the
    // resident reads is what the log holds.
    let proof: Value = proof.json().await.unwrap();
    let shown = found["integrity"]["body"].as_str().unwrap();
    let expires = found["integrity"]["expiresAt"].as_i64().unwrap();
    let leaf = loket_core::merkle::record_leaf(2, expires, shown.as_bytes());
    use base64::Engine;
    let proved = base64::engine::general_purpose::STANDARD
        .decode(proof["leafHash"].as_str().unwrap())
        .unwrap();
    assert_eq!(leaf.to_vec(), proved);
    let edited = shown.replace("Ok", "Error");
    assert_ne!(shown, edited, "the body has a status to edit");
    assert_ne!(
        loket_core::merkle::record_leaf(2, expires, edited.as_bytes()).to_vec(),
        proved,
        "an edited body is another leaf"
    );
    assert_eq!(
        serde_json::from_str::<Value>(shown).unwrap()["traceId"],
        found["traceId"],
        "the exact body is the record shown"
    );
    let unsigned = client
        .get(format!("{base}/proofs/inclusion?index=2&treeSize=99"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 400);
    // A query string that does not fit gets problem+json naming the parameter.
    for (path, name) in [
        ("proofs/inclusion?index=two&treeSize=4", "index"),
        ("proofs/inclusion?treeSize=4", "index"),
        ("proofs/consistency?first=1", "second"),
        ("proofs/consistency?first=1&second=4&third=5", "third"),
    ] {
        let answer = client.get(format!("{base}/{path}")).send().await.unwrap();
        names_invalid(answer, name, path).await;
    }
    // Any query string: a proof, or problem+json; never an error of the server's.
    {
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;
        let name = prop_oneof![
            Just("index"),
            Just("treeSize"),
            Just("first"),
            Just("second"),
            Just("tree_size"),
            Just(""),
        ];
        let value = prop_oneof![
            (0u64..6).prop_map(|n| n.to_string()),
            Just(u64::MAX.to_string()),
            Just("18446744073709551616".to_owned()),
            Just("-1".to_owned()),
            "[a-z0-9%&=+]{0,6}",
        ];
        let pairs = proptest::collection::vec((name, value), 0..4);
        let strategy = (proptest::bool::ANY, pairs);
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..120 {
            let (inclusion, pairs) = strategy.new_tree(&mut runner).unwrap().current();
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let route = if inclusion {
                "inclusion"
            } else {
                "consistency"
            };
            let asked = format!("proofs/{route}?{}", query.join("&"));
            let answer = client.get(format!("{base}/{asked}")).send().await.unwrap();
            let status = answer.status().as_u16();
            assert!([200, 400].contains(&status), "{asked}: {status}");
            if status != 200 {
                assert_eq!(
                    answer.headers()["content-type"],
                    "application/problem+json",
                    "{asked}"
                );
            }
        }
    }

    // The log grows; a reader holding the head over 4 records checks, with the proof the
    // API gives, that the head over 7 extends it (nothing before was changed).
    fill(&f, 3).await;
    let get = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.unwrap() }
    };
    let newer: Value = get(format!("{base}/tree-heads/latest"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(newer["treeSize"], 7);
    let root = |head: &Value| -> Hash {
        base64::engine::general_purpose::STANDARD
            .decode(head["rootHash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let answer: Value = get(format!("{base}/proofs/consistency?first=4&second=7"))
        .await
        .json()
        .await
        .unwrap();
    let proof: Vec<Hash> = answer["consistency"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    assert!(merkle::verify_consistency(
        4,
        7,
        &root(&head),
        &root(&newer),
        &proof
    ));
    let mut forged = root(&head);
    forged[0] ^= 1;
    assert!(!merkle::verify_consistency(
        4,
        7,
        &forged,
        &root(&newer),
        &proof
    ));
    // Only between sizes the log signed a head for.
    let unsigned = get(format!("{base}/proofs/consistency?first=4&second=99")).await;
    assert_eq!(unsigned.status(), 400);
    let problem: Value = unsigned.json().await.unwrap();
    assert_eq!(problem["invalidParams"][0]["name"], "second", "{problem}");

    // What the exchange writes when it knows neither the caller nor the activity (an
    // empty peer id, an activity id that is no URI) is shown as it is.
    let mut unknown = record(&f, Some(SANNE), "zomaar-iets", NOW);
    if let Some(exchange) = unknown.exchange.as_mut() {
        exchange.source_peer_id = String::new();
    }
    f.log.append(vec![unknown]).await.unwrap();
    let odd: Value = post(
        "fg-token",
        json!({"dpl.core.processing_activity_id": "zomaar-iets"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let shown = &odd["processingActivities"][0]["attributes"];
    assert_eq!(shown["loket.exchange"]["sourcePeerId"], "", "{odd}");
}

fn sha2_digest(bytes: &[u8]) -> Hash {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const AN_HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// Wait until the store holds a signed head for `size` records.
async fn head_in_store(f: &Fixture, size: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.store.latest_head().await.unwrap().map(|head| head.size) != Some(size) {
        assert!(
            std::time::Instant::now() < deadline,
            "no head for {size} records"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The portal's token alone asks about nobody: each read needs the portal's assertion,
/// signed with its key, fresh, for this log, and naming the resident asked about.
async fn the_portal_asks_only_about_the_resident_its_assertion_names(f: Fixture) {
    fill(&f, 4).await;
    let portal = portal_signer("the portal");
    let base = serve_read_api(&f, &portal).await;
    let log_key = f.log.verifying_key().0.clone();
    let sanne = Bsn::parse(SANNE).unwrap();
    let ask = |assertion: Option<String>, bsn: &str| {
        let mut request = reqwest::Client::new()
            .post(format!("{base}/processing-activities"))
            .bearer_auth("portal-token")
            .json(&about(bsn));
        if let Some(assertion) = assertion {
            request = request.header(resident_assertion::HEADER, assertion);
        }
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            if status != 200 {
                assert_eq!(answer.headers()["content-type"], "application/problem+json");
            }
            let body: Value = answer.json().await.unwrap();
            (status, body)
        }
    };
    let (status, found) = ask(Some(portal.sign(&sanne, &log_key, NOW)), SANNE).await;
    assert_eq!(status, 200);
    assert_eq!(found["processingActivities"].as_array().unwrap().len(), 2);

    let refused = [
        ("no assertion", None, 401),
        (
            "another portal's key",
            Some(portal_signer("someone else").sign(&sanne, &log_key, NOW)),
            401,
        ),
        ("another log", Some(portal.sign(&sanne, &[9; 32], NOW)), 401),
        (
            "two minutes old",
            Some(portal.sign(&sanne, &log_key, NOW - Duration::minutes(2))),
            401,
        ),
        (
            "from the future",
            Some(portal.sign(&sanne, &log_key, NOW + Duration::minutes(2))),
            401,
        ),
        ("not an assertion", Some("a.b.c".to_owned()), 401),
    ];
    for (what, assertion, expected) in refused {
        let (status, problem) = ask(assertion, SANNE).await;
        assert_eq!(status, expected, "{what}: {problem}");
        assert!(problem["processingActivities"].is_null(), "{what}");
    }
    // Signed in as Sanne, the portal cannot ask about Tom, nor by trace or purpose alone.
    let (status, problem) = ask(Some(portal.sign(&sanne, &log_key, NOW)), TOM).await;
    assert_eq!(status, 403, "{problem}");
    let trace = found["processingActivities"][0]["traceId"].clone();
    for body in [
        json!({"traceId": trace}),
        json!({"dpl.core.processing_activity_id": PARKEREN}),
    ] {
        let answer = reqwest::Client::new()
            .post(format!("{base}/processing-activities"))
            .bearer_auth("portal-token")
            .header(
                resident_assertion::HEADER,
                portal.sign(&sanne, &log_key, NOW),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403, "{body}");
    }
    // The privacy officer needs no assertion, and one does not narrow what they may ask.
    let tom = reqwest::Client::new()
        .post(format!("{base}/processing-activities"))
        .bearer_auth("fg-token")
        .header(
            resident_assertion::HEADER,
            portal.sign(&sanne, &log_key, NOW),
        )
        .json(&about(TOM))
        .send()
        .await
        .unwrap();
    assert_eq!(tom.status(), 200);
}

async fn records_are_durable_before_their_head_and_a_reader_gets_a_head_over_them(f: Fixture) {
    let log = start_signing_every(&f.store, &f.keys, &f.clock, AN_HOUR)
        .await
        .unwrap();
    for bsn in [SANNE, TOM, SANNE] {
        log.append(vec![record(&f, Some(bsn), PARKEREN, NOW)])
            .await
            .unwrap();
    }
    assert_eq!(f.store.scan(0, 10).await.unwrap().len(), 3, "on disk");
    assert!(
        f.store.latest_head().await.unwrap().is_none(),
        "no head yet: the interval is not up"
    );
    // Whoever asks for the head gets one over every committed record.
    let head = log.latest_head().await.unwrap().unwrap();
    assert_eq!(head.size, 3);
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.tree_heads), (3, 1));
    // Asking again signs nothing new.
    log.seal().await.unwrap();
    assert_eq!(verified(&f).await.unwrap().tree_heads, 1);
}

/// The newest head is public; making the log sign one now (a synced commit and a
/// signature) is for a reader with a token. Anyone else gets the last one it signed.
async fn only_a_reader_with_a_token_makes_the_log_sign_its_newest_records(f: Fixture) {
    let log = start_signing_every(&f.store, &f.keys, &f.clock, AN_HOUR)
        .await
        .unwrap();
    let f = Fixture { log, ..f };
    let base = serve_read_api(&f, &portal_signer("the portal")).await;
    let client = reqwest::Client::new();
    let head = |token: Option<&'static str>| {
        let mut request = client.get(format!("{base}/tree-heads/latest"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.unwrap();
            (status, body["treeSize"].as_u64())
        }
    };
    for bsn in [SANNE, TOM, SANNE] {
        f.log
            .append(vec![record(&f, Some(bsn), PARKEREN, NOW)])
            .await
            .unwrap();
    }
    assert_eq!(head(None).await, (404, None), "nothing signed yet");
    assert_eq!(
        head(Some("guess")).await,
        (404, None),
        "a wrong token is no one"
    );
    assert_eq!(head(Some("fg-token")).await, (200, Some(3)));
    f.log
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    assert_eq!(head(None).await, (200, Some(3)), "the last head signed");
    assert_eq!(head(Some("portal-token")).await, (200, Some(4)));
    assert_eq!(head(None).await, (200, Some(4)));
}

async fn an_idle_log_signs_its_last_records_within_the_interval(f: Fixture) {
    let log = start_signing_every(
        &f.store,
        &f.keys,
        &f.clock,
        std::time::Duration::from_millis(50),
    )
    .await
    .unwrap();
    log.append(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await
        .unwrap();
    log.append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    head_in_store(&f, 2).await;
    assert_eq!(verified(&f).await.unwrap().records, 2);
}

async fn a_log_signs_what_is_left_when_its_last_handle_goes(f: Fixture) {
    let log = start_signing_every(&f.store, &f.keys, &f.clock, AN_HOUR)
        .await
        .unwrap();
    log.append(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
        .await
        .unwrap();
    drop(log);
    head_in_store(&f, 1).await;
}

async fn records_a_stopped_log_had_not_signed_are_signed_when_it_starts_again(f: Fixture) {
    fill(&f, 5).await;
    // As if the log had stopped before signing records 2, 3 and 4.
    stopped_before_signing_after(&f, 2).await;
    assert_eq!(tampered(verified(&f).await), Tampered::Unsigned(2));
    let again = start(&f.store, &f.keys, &f.clock).await.unwrap();
    assert_eq!(again.latest_head().await.unwrap().unwrap().size, 5);
    let report = verified(&f).await.unwrap();
    assert_eq!((report.records, report.tree_heads), (5, 3));
    let indexes = again
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    assert_eq!(indexes, [5], "the tree goes on after the records it signed");
    assert_eq!(verified(&f).await.unwrap().records, 6);
}

async fn an_unsigned_tail_that_was_changed_keeps_the_log_from_starting(f: Fixture) {
    // Enough records for a stored tree node (16 leaves) after the signed head.
    fill(&f, 20).await;
    stopped_before_signing_after(&f, 2).await;
    tamper(
        &f,
        "UPDATE records SET body = replace(body, 'traceId', 'traceID') WHERE idx = 3",
    )
    .await;
    let error = start(&f.store, &f.keys, &f.clock).await.unwrap_err();
    assert!(
        matches!(error, loket_logboek::LogError::TailTampered(3)),
        "{error}"
    );
    // A stored node that does not match the records is refused too.
    tamper(
        &f,
        "UPDATE records SET body = replace(body, 'traceID', 'traceId') WHERE idx = 3",
    )
    .await;
    tamper(&f, "DELETE FROM nodes WHERE level = 4 AND idx = 0").await;
    let error = start(&f.store, &f.keys, &f.clock).await.unwrap_err();
    assert!(
        matches!(error, loket_logboek::LogError::TailTampered(_)),
        "{error}"
    );
}

/// Whoever asks for the newest head (a reader, or a platform that stops its logs) finds
/// it in the head file beside the keys at once, not only in the database.
async fn a_sealed_log_has_its_newest_head_in_the_file(f: Fixture) {
    let log = start_signing_every(&f.store, &f.keys, &f.clock, AN_HOUR)
        .await
        .unwrap();
    for _ in 0..3 {
        log.append(vec![record(&f, Some(SANNE), PARKEREN, NOW)])
            .await
            .unwrap();
    }
    let head = log.latest_head().await.unwrap().unwrap();
    assert_eq!(head.size, 3);
    assert_eq!(head_file(&f).read(log.verifying_key()).unwrap(), Some(head));
}

/// The head file is not synced, so a crash can leave it damaged: the log starts from its
/// database's heads and writes a new one.
async fn a_damaged_head_file_is_written_again(f: Fixture) {
    fill(&f, 3).await;
    head_file_at(&f, 3).await;
    std::fs::write(head_file(&f).path(), b"{\"treeSize\": 3, \"roo").unwrap();
    let again = start(&f.store, &f.keys, &f.clock).await.unwrap();
    again
        .append(vec![record(&f, Some(TOM), PARKEREN, NOW)])
        .await
        .unwrap();
    let head = again.latest_head().await.unwrap().unwrap();
    assert_eq!(head.size, 4);
    assert_eq!(
        head_file(&f).read(again.verifying_key()).unwrap(),
        Some(head)
    );
}

/// Someone who can write the database but not the key directory removes the newest
/// heads: the records after the last one left would then pass as a crashed log's
/// unsigned records, rewritten or not, and be signed at the next start. The head file
/// beside the keys still names the head for all five records: the log does not start,
/// and `verify` names the removed head.
async fn removed_heads_keep_the_log_from_starting_and_fail_verify(f: Fixture) {
    fill(&f, 5).await;
    head_file_at(&f, 5).await;
    tamper(&f, "DELETE FROM tree_heads WHERE size > 2").await;
    let error = start(&f.store, &f.keys, &f.clock).await.unwrap_err();
    assert!(
        matches!(
            error,
            loket_logboek::LogError::HeadsRemoved { signed: 5, .. }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("test.latest-head.json"),
        "{error}"
    );
    assert_eq!(tampered(verified(&f).await), Tampered::HeadRemoved(5));
    // Once the operator removes the file (a database restored from a backup), the
    // database's own heads decide again: here, records 2 to 4 are unsigned.
    std::fs::remove_file(head_file(&f).path()).unwrap();
    assert_eq!(tampered(verified(&f).await), Tampered::Unsigned(2));
}

/// Under a steady flood of appends (the writer finds work waiting after every commit) a
/// complete bucket still reaches the lookup tables while the flood goes on, so the
/// newest records kept in memory stay a few buckets at most. SQLite, whose writer has a
/// thread of its own; a runtime with workers, as the platform's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lookup_tables_keep_pace_with_a_flood_of_appends() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    const BUCKET: u64 = 65_536;
    let storage = loket_store::testing::TestStorage::sqlite().unwrap();
    let f = open(&storage.url).await;
    fill_in_batches(&f, BUCKET).await;
    let stop = Arc::new(AtomicBool::new(false));
    let during = Arc::new(AtomicU64::new(0));
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..2048 {
        let (log, stop, during) = (f.log.clone(), stop.clone(), during.clone());
        let one = record(
            &f,
            Some(if caller % 2 == 0 { SANNE } else { TOM }),
            PARKEREN,
            NOW,
        );
        callers.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                log.append(vec![one.clone()]).await.unwrap();
                during.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while f.log.indexed_upto() < BUCKET {
        assert!(
            std::time::Instant::now() < deadline,
            "not indexed after {} more appends",
            during.load(Ordering::Relaxed)
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let during = during.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    while callers.join_next().await.is_some() {}
    // Indexing takes at most about a bucket and a half of appends: pieces while the
    // writer is idle, then, once half of the next bucket is in, nine rows riding on
    // every four records; starved, it waited hundreds of commits of 2,048 records
    // before it even began.
    assert!(
        during < 2 * BUCKET,
        "the bucket reached the tables only after {during} more appends"
    );
    storage.teardown().await;
}

loket_store::contract_suite! {
    open = open;
    tests = [
        appends_are_numbered_and_found_by_subject_newest_first,
        concurrent_appends_share_commits_and_get_distinct_indexes,
        an_unhurried_append_shares_the_next_urgent_commit_or_commits_alone,
        a_background_append_joins_the_next_urgent_commit_without_a_waiter,
        appends_report_their_waits_and_commits_to_the_metrics,
        background_records_that_cannot_be_kept_are_counted,
        a_search_by_activity_alone_pages_newest_first,
        a_bucket_sorts_and_indexes_alike_on_either_backend,
        verify_holds_while_appends_go_on,
        verify_reads_ahead_and_still_names_the_first_bad_record,
        any_one_change_to_the_records_is_named_by_verify,
        proofs_verify_against_the_signed_heads,
        proofs_verify_at_every_size_with_only_the_higher_levels_stored,
        a_restarted_log_continues_the_same_tree,
        a_retention_past_the_calendar_keeps_the_writer_going,
        a_failing_store_fails_the_append,
        after_a_failed_commit_the_log_goes_on_from_the_last_committed_tree,
        after_a_commit_that_landed_but_failed_the_log_goes_on_after_it,
        a_modified_record_is_named,
        a_record_rewritten_with_new_digests_breaks_the_signed_root,
        a_removed_record_is_named,
        swapped_records_are_named,
        an_inserted_record_is_named,
        a_forged_tree_head_is_refused,
        a_removed_tail_with_its_heads_left_is_named,
        expired_records_are_pruned_and_the_log_still_verifies,
        a_running_log_prunes_expired_records_until_it_stops,
        lookups_answer_alike_before_and_after_a_bucket_reaches_the_lookup_tables,
        the_read_api_answers_authorised_readers_only,
        a_record_moved_to_another_resident_by_its_columns_is_not_served,
        a_record_inserted_below_the_first_is_refused,
        a_changed_tree_node_is_named,
        a_record_hidden_from_the_lookup_tables_is_named,
        verify_checks_a_log_that_ends_with_a_complete_bucket,
        the_lookup_position_moves_only_from_where_its_bucket_began,
        a_record_pruned_while_verify_reads_is_not_called_hidden,
        whatever_the_portal_asks_a_resident_sees_only_their_own_records,
        the_portal_asks_only_about_the_resident_its_assertion_names,
        records_are_durable_before_their_head_and_a_reader_gets_a_head_over_them,
        only_a_reader_with_a_token_makes_the_log_sign_its_newest_records,
        an_idle_log_signs_its_last_records_within_the_interval,
        a_log_signs_what_is_left_when_its_last_handle_goes,
        records_a_stopped_log_had_not_signed_are_signed_when_it_starts_again,
        an_unsigned_tail_that_was_changed_keeps_the_log_from_starting,
        removed_heads_keep_the_log_from_starting_and_fail_verify,
        a_sealed_log_has_its_newest_head_in_the_file,
        a_damaged_head_file_is_written_again,
    ];
}

/// A log from before migration 3, whose tree nodes were keyed by level and then index,
/// keeps every node from level 4 up through the migrations, found where a proof or a
/// restart looks; migration 4 drops the lower ones, which are computed from their leaves.
mod from_before_migration_3 {
    use super::*;
    use loket_store::sqlx;

    const NODES: [(u32, u64); 6] = [(4, 0), (4, 1), (5, 0), (4, 2), (4, 3), (6, 5)];
    const LOWER: [(u32, u64); 3] = [(1, 0), (2, 1), (3, 5)];

    fn hash_of((level, idx): (u32, u64)) -> Hash {
        sha2_digest(format!("{level}/{idx}").as_bytes())
    }

    /// A database at migration 2 with `NODES` in it, as that schema stored them.
    async fn open_before(url: &StorageUrl) -> StorageUrl {
        let full = schema("logboek_test");
        let before = loket_store::Schema {
            component: full.component,
            sqlite: full.sqlite.split_at(2).0,
            postgres: full.postgres.split_at(2).0,
        };
        let old = Database::open(url, &before).await.unwrap();
        for (level, idx) in NODES.into_iter().chain(LOWER) {
            let hash = hash_of((level, idx)).to_vec();
            let (level, idx) = (i64::from(level), i64::try_from(idx).unwrap());
            match &old {
                Database::Sqlite(pool) => {
                    sqlx::query("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
                        .bind(level)
                        .bind(idx)
                        .bind(hash)
                        .execute(pool)
                        .await
                        .unwrap();
                }
                Database::Postgres(pool) => {
                    sqlx::query("INSERT INTO nodes (level, idx, hash) VALUES ($1, $2, $3)")
                        .bind(level)
                        .bind(idx)
                        .bind(hash)
                        .execute(pool)
                        .await
                        .unwrap();
                }
            }
        }
        old.close().await;
        url.clone()
    }

    async fn the_stored_levels_are_found_after_them(url: StorageUrl) {
        let database = Database::open(&url, &schema("logboek_test")).await.unwrap();
        let store = log_store(&database);
        let mut asked = NODES.to_vec();
        asked.push((5, 1));
        asked.extend(LOWER);
        let found = store.nodes(&asked).await.unwrap();
        assert_eq!(found.len(), NODES.len(), "{found:?}");
        for id in NODES {
            assert_eq!(found[&id], hash_of(id), "node {id:?}");
        }
        database.close().await;
    }

    loket_store::contract_suite! {
        open = open_before;
        tests = [the_stored_levels_are_found_after_them];
    }
}
