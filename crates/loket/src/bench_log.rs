//! `loket bench logboek`: durable appends with group commit, inzage among millions of
//! records, inclusion and consistency proofs, and `verify` over all of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use loket_core::{SpanId, SystemClock, TraceId};
use loket_logboek::{
    Direction, Exchange, Filter, LogKeys, LogStore, Logboek, NewRecord, Status, log_store, merkle,
    verify,
};
use loket_store::StorageUrl;
use rand::Rng;

use crate::exchange::{ORGANISATIONS, PARKEREN, RVIG_BRP};
use crate::platform;

const COMPONENT: &str = "logboek_bench";

#[allow(clippy::print_stdout)]
pub async fn run(
    storage: StorageUrl,
    keys_dir: &std::path::Path,
    records: u64,
    subjects: u64,
    callers: usize,
) -> anyhow::Result<()> {
    let database = platform::open(&storage, &loket_logboek::schema(COMPONENT)).await?;
    let store = log_store(&database);
    let existing = store.latest_head().await?.map_or(0, |head| head.size);
    let keys = LogKeys::load_or_create(keys_dir, COMPONENT)?;
    let key = keys.verifying_key();
    if existing == 0
        && let Some(file) = keys.head_file()
    {
        // The newest head of an earlier run's store, which is gone: the benchmark starts
        // a fresh log, where a running platform would refuse to start (HeadFile).
        match std::fs::remove_file(file.path()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).context("remove an earlier run's head file");
            }
            _ => {}
        }
    }
    let log = Logboek::start(
        COMPONENT,
        store.clone(),
        keys,
        // RvIG's log: the records are its inway's.
        Arc::new(
            ORGANISATIONS
                .iter()
                .find(|o| o.name == "rvig")
                .context("the demo has no RvIG")?
                .activities()?,
        ),
        Arc::new(SystemClock),
        loket_logboek::HEAD_INTERVAL,
    )
    .await?;

    // A log filled by an earlier run (same keys) is measured again without refilling.
    let callers = if existing > 0 { 0 } else { callers };
    // Appends: `callers` concurrent callers, each appending one record at a time, as the
    // exchange does per request; the writer groups whatever is waiting into one commit.
    let started = Instant::now();
    let per_caller = records / callers.max(1) as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for caller in 0..callers as u64 {
        let log = log.clone();
        tasks.spawn(async move {
            for i in 0..per_caller {
                let subject = rand::rng().random_range(0..subjects);
                log.append(vec![record(&log, subject, caller * per_caller + i)])
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let elapsed = started.elapsed();
    let appended = per_caller * callers as u64;
    let heads = store.heads(0, u32::MAX).await?.len();
    if existing > 0 {
        println!("reusing the {existing} records of an earlier run");
    } else {
        println!(
            "appended {appended} records in {:.1} s with {callers} concurrent callers: {:.0} durable records/s, {heads} signed tree heads; the lookup tables hold records below {} (the rest are looked up in memory)",
            elapsed.as_secs_f64(),
            appended as f64 / elapsed.as_secs_f64(),
            log.indexed_upto(),
        );
    }
    let appended = appended.max(existing);

    // Inzage: one random subject at a time, newest 25 records, bodies decoded.
    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    let mut found = 0usize;
    while Instant::now() < until {
        let subject = rand::rng().random_range(0..subjects);
        let filter = Filter {
            subject: Some(log.pseudonyms().bsn(&bsn(subject)).as_str().to_owned()),
            limit: 25,
            ..Filter::default()
        };
        let asked = Instant::now();
        let entries = log.query(&filter).await?;
        for entry in &entries {
            let body: serde_json::Value =
                serde_json::from_str(entry.body.as_deref().unwrap_or("null"))?;
            found += usize::from(body.is_object());
        }
        latencies.push(asked.elapsed());
    }
    let (p50, p99, max) = percentiles(&mut latencies);
    println!(
        "inzage among {appended} records ({subjects} subjects): {} queries, {found} records, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
        latencies.len(),
    );

    proofs(&log, store.as_ref()).await?;

    let started = Instant::now();
    let known = loket_logboek::HeadFile::beside_keys(keys_dir, COMPONENT).read(&key)?;
    let report = verify(
        store.as_ref(),
        &key,
        time::OffsetDateTime::now_utc().unix_timestamp(),
        known.as_ref(),
    )
    .await
    .context("verify")?;
    println!(
        "verify: {} records, {} tree heads in {:.1} s ({:.0} records/s)",
        report.records,
        report.tree_heads,
        started.elapsed().as_secs_f64(),
        report.records as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Proofs as the portal asks for them (an inclusion proof for each record a resident
/// reads) and as an auditor does (a consistency proof between two signed heads): for 5 s
/// each, a random record in the newest head and a random earlier head, every proof
/// checked against the signed roots. Only the proof itself is timed.
#[allow(clippy::print_stdout)]
async fn proofs(log: &Logboek, store: &dyn LogStore) -> anyhow::Result<()> {
    let newest = log
        .latest_head()
        .await?
        .context("the log has no signed tree head")?;
    let heads = store.heads(0, u32::MAX).await?;
    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let index = rand::rng().random_range(0..newest.size);
        let asked = Instant::now();
        let path = log
            .inclusion_proof(index, newest.size)
            .await?
            .context("no inclusion proof for a record in the tree")?;
        latencies.push(asked.elapsed());
        let leaf = store
            .nodes(&[(0, index)])
            .await?
            .remove(&(0, index))
            .context("a record without its leaf hash")?;
        anyhow::ensure!(
            merkle::verify_inclusion(&leaf, index, newest.size, &path, &newest.root),
            "the inclusion proof of record {index} does not verify"
        );
    }
    let (p50, p99, max) = percentiles(&mut latencies);
    println!(
        "inclusion proofs in a tree of {} records: {} proofs, each verified, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
        newest.size,
        latencies.len(),
    );
    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until && !heads.is_empty() {
        let earlier = &heads[rand::rng().random_range(0..heads.len())];
        let asked = Instant::now();
        let proof = log
            .consistency_proof(earlier.size, newest.size)
            .await?
            .context("no consistency proof between two signed heads")?;
        latencies.push(asked.elapsed());
        anyhow::ensure!(
            merkle::verify_consistency(
                earlier.size,
                newest.size,
                &earlier.root,
                &newest.root,
                &proof
            ),
            "the consistency proof from {} to {} records does not verify",
            earlier.size,
            newest.size
        );
    }
    let (p50, p99, max) = percentiles(&mut latencies);
    println!(
        "consistency proofs from one of {} signed heads to the newest: {} proofs, each verified, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
        heads.len(),
        latencies.len(),
    );
    Ok(())
}

/// p50, p99 and the maximum, in milliseconds.
fn percentiles(latencies: &mut [Duration]) -> (f64, f64, f64) {
    if latencies.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99), at(1.0))
}

fn bsn(subject: u64) -> String {
    format!("{:09}", 100_000_000 + subject)
}

fn record(log: &Logboek, subject: u64, sequence: u64) -> NewRecord {
    let now = time::OffsetDateTime::now_utc();
    NewRecord {
        trace_id: TraceId::random(),
        span_id: SpanId::random(),
        parent_span_id: Some(SpanId::random()),
        name: "brp-personen antwoord".to_owned(),
        start: now,
        end: now,
        status: Status::Ok,
        processing_activity_id: Some(RVIG_BRP.to_owned()),
        data_subject: Some(log.pseudonyms().bsn(&bsn(subject))),
        exchange: Some(Exchange {
            transaction_id: format!("{:032x}", sequence),
            direction: Direction::Incoming,
            grant_hash: Some("$1$3$W5Y0i7b8B5gG1wX7g4o1o6oE0pZ5mYcQ1uN8r2b3c4d".to_owned()),
            source_peer_id: crate::exchange::GEMEENTE_OIN.to_owned(),
            destination_peer_id: "00000001003214345000".to_owned(),
            service_name: "brp-personen".to_owned(),
            stated_processing_activity_id: Some(Some(PARKEREN.to_owned())),
            fields: Vec::new(),
            error_code: None,
        }),
    }
}
