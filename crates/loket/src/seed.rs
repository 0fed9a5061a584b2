//! `loket seed`: generate a fictional municipality and load it into the registers.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use loket_population::{Generator, Municipality};
use loket_registers::brp::{self, PersonRecord, PersonStore};
use loket_store::{Database, StorageUrl};
use time::Date;

use crate::logging::{self, LogFormat};

/// Persons per insert transaction: large enough that a commit's dirty pages are shared by
/// many rows, small enough to keep memory flat.
const BATCH: usize = 20_000;

pub async fn run(
    data: PathBuf,
    persons: u64,
    seed: u64,
    municipality: String,
    storage: Option<String>,
) -> anyhow::Result<()> {
    logging::init(LogFormat::Text);
    if municipality.len() != 4 || !municipality.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--municipality must be a four-digit municipality code, like 0363");
    }
    let storage: StorageUrl = match storage {
        Some(url) => url.parse().context("--storage")?,
        None => StorageUrl::SqliteDir(data.clone()),
    };
    let database = Database::open(&storage, &brp::SCHEMA)
        .await
        .context("cannot open the BRP database")?;
    let store = brp::person_store(&database);
    let existing = store.count().await?;
    if existing > 0 {
        bail!(
            "the BRP already holds {existing} persons; seed into an empty data directory or database"
        );
    }
    let municipality = Municipality::from_code(&municipality);
    let started = Instant::now();
    let mut progress = Progress::new(persons);
    let loaded = load(
        store.as_ref(),
        persons,
        seed,
        &municipality,
        time::OffsetDateTime::now_utc().date(),
        |done| progress.show(done),
    )
    .await?;
    progress.finish(loaded, started);
    database.close().await;
    Ok(())
}

/// Load the personas and `persons` generated residents. Generation runs on its own thread
/// and hands over batches through a small channel, so memory does not grow with `persons`.
pub async fn load(
    store: &dyn PersonStore,
    persons: u64,
    seed: u64,
    municipality: &Municipality,
    today: Date,
    mut report: impl FnMut(u64),
) -> anyhow::Result<u64> {
    let (_, personas) = loket_population::personas(today, municipality);
    store
        .begin_bulk_load()
        .await
        .context("cannot prepare the BRP for loading")?;
    store
        .insert(&personas)
        .await
        .context("cannot load the personas")?;
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<PersonRecord>>(1);
    let generator = Generator::new(seed, persons, municipality.clone(), today);
    let producer = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(BATCH + 8);
        for household in generator {
            batch.extend(household);
            if batch.len() >= BATCH
                && sender
                    .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH + 8)))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = sender.blocking_send(batch);
        }
    });
    let mut loaded = 0u64;
    while let Some(batch) = batches.recv().await {
        store
            .insert(&batch)
            .await
            .context("cannot load generated residents")?;
        loaded += batch.len() as u64;
        report(loaded);
    }
    if producer.join().is_err() {
        bail!("the generator stopped unexpectedly");
    }
    store
        .finish_bulk_load()
        .await
        .context("cannot build the BRP's search indexes")?;
    Ok(loaded + personas.len() as u64)
}

/// A progress bar on a terminal; a line per tenth otherwise (logs, CI).
struct Progress {
    total: u64,
    terminal: bool,
    last_tenth: u64,
}

impl Progress {
    fn new(total: u64) -> Self {
        Self {
            total,
            terminal: std::io::stderr().is_terminal(),
            last_tenth: 0,
        }
    }

    fn show(&mut self, done: u64) {
        let total = self.total.max(1);
        if self.terminal {
            let width = 40;
            let filled = (done * width / total) as usize;
            eprint!(
                "\r  [{}{}] {done}/{} residents",
                "#".repeat(filled),
                " ".repeat(width as usize - filled.min(width as usize)),
                self.total
            );
            let _ = std::io::stderr().flush();
        } else {
            let tenth = done * 10 / total;
            if tenth > self.last_tenth {
                self.last_tenth = tenth;
                eprintln!(
                    "seeded {done} of {} residents ({}%)",
                    self.total,
                    tenth * 10
                );
            }
        }
    }

    #[allow(clippy::print_stdout)]
    fn finish(&self, loaded: u64, started: Instant) {
        if self.terminal {
            eprintln!();
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "Loaded {loaded} persons (personas included) in {seconds:.1} s ({:.0} per second).",
            loaded as f64 / seconds.max(0.001)
        );
    }
}
