//! `loket bench decisions`: parking-permit applications decided end to end against a
//! running demo: each asks the BRP, the RDW and the income register through the outway
//! (mutual TLS, grants, both processing logs), evaluates the rules and commits the case.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use loket_core::{Bsn, SystemClock, TraceContext};
use loket_store::{Database, StorageUrl};
use loket_zaken::apply::{Application, Applications, Exchange};
use loket_zaken::zaak::Outcome;
use serde_json::{Map, Value};

/// The demo's generated residents (seed 1), who live in Voorbeeldstad.
const DEMO_SEED: u64 = 1;
const DEMO_RESIDENTS: usize = 20_000;

#[derive(Debug, Default)]
struct Tally {
    granted: AtomicU64,
    refused: AtomicU64,
    person: AtomicU64,
    errors: AtomicU64,
}

#[allow(clippy::print_stdout)]
pub async fn run(data: PathBuf, applications: u64, concurrency: usize) -> anyhow::Result<()> {
    let outway = crate::demo::endpoint(&data, "outway")
        .context("start `loket demo --data DIR` first; this measures against it")?;
    let database =
        Database::open(&StorageUrl::SqliteDir(data.clone()), &loket_zaken::SCHEMA).await?;
    let applications_service = Arc::new(Applications::new(
        Arc::new(crate::process::catalogue(None)?),
        loket_zaken::zaak_store(&database),
        Exchange::new(&outway)?,
        crate::process::demo_gemeente(),
        Arc::new(SystemClock),
    ));
    let mut sequence = loket_population::BsnSequence::new(DEMO_SEED);
    let residents: Arc<Vec<Bsn>> = Arc::new(
        (0..DEMO_RESIDENTS)
            .filter_map(|_| Bsn::parse(&sequence.next_bsn()).ok())
            .collect(),
    );
    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let service = applications_service.clone();
        let residents = residents.clone();
        let next = next.clone();
        let tally = tally.clone();
        workers.spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= applications {
                    break;
                }
                let index = usize::try_from(n).unwrap_or(0) % residents.len();
                let mut form = Map::new();
                // Someone else's car: the rules refuse it, a decision like any other.
                form.insert("kenteken".to_owned(), Value::from("34-GBV-7"));
                form.insert("leaseverklaring".to_owned(), Value::from("nee"));
                let application = Application {
                    product: "bewonersparkeervergunning".to_owned(),
                    applicant: residents[index],
                    form,
                    uploads: Vec::new(),
                };
                let sent = Instant::now();
                let outcome = service.apply(&application, &TraceContext::new_root()).await;
                latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                let counter = match outcome.map(|zaak| zaak.uitkomst) {
                    Ok(Some(Outcome::Toegekend)) => &tally.granted,
                    Ok(Some(Outcome::Afgewezen)) => &tally.refused,
                    Ok(_) => &tally.person,
                    Err(_) => &tally.errors,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = workers.join_next().await {
        latencies.extend(joined?);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let automatic = tally.granted.load(Ordering::Relaxed) + tally.refused.load(Ordering::Relaxed);
    println!(
        "{applications} applications in {:.1} s with {concurrency} at a time: {:.0} automatic decisions/s",
        elapsed.as_secs_f64(),
        automatic as f64 / elapsed.as_secs_f64()
    );
    println!(
        "granted {}, refused {}, to a person {}, errors {}",
        tally.granted.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.person.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed)
    );
    println!(
        "latency per decision: p50 {:.1} ms, p99 {:.1} ms",
        f64::from(crate::bench::percentile(&latencies, 0.50)) / 1000.0,
        f64::from(crate::bench::percentile(&latencies, 0.99)) / 1000.0
    );
    Ok(())
}
