//! `loket seed`: generate a fictional municipality and load it into the registers.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use std::sync::Arc;

use anyhow::{Context, bail};
use loket_population::{Generator, Municipality, Records};
use loket_registers::brp::{self, PersonStore};
use loket_registers::duo::{self, Inschrijving};
use loket_registers::inkomen::{self, Inkomenssituatie};
use loket_registers::rdw::{self, Voertuig};
use loket_registers::reisdocumenten::{self, Reisdocument};
use loket_registers::{Feed, RecordStore, record_store};
use loket_store::{Database, Schema, StorageUrl};
use time::Date;

use crate::platform::RegisterHandle;

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
    let _log_writer = logging::init(LogFormat::Text);
    if municipality.len() != 4 || !municipality.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--municipality must be a four-digit municipality code, like 0363");
    }
    let storage: StorageUrl = match storage {
        Some(url) => url.parse().context("--storage")?,
        None => StorageUrl::SqliteDir(data.clone()),
    };
    if let StorageUrl::SqliteDir(dir) = &storage {
        crate::synthetic::claim(dir)?;
    }
    let targets = Targets::open(&storage).await?;
    let municipality = Municipality::from_code(&municipality);
    let started = Instant::now();
    let mut progress = Progress::new(persons);
    let loaded = load(
        &targets,
        persons,
        seed,
        &municipality,
        loket_core::dutch_today(&loket_core::SystemClock),
        |done| progress.show(done),
    )
    .await?;
    progress.finish(&loaded, started);
    targets.close().await;
    Ok(())
}

/// Every register's store and feed: what a seed fills.
#[derive(Debug)]
pub struct Targets {
    pub brp: (Arc<dyn PersonStore>, Feed),
    pub reisdocumenten: (Arc<dyn RecordStore<Reisdocument>>, Feed),
    pub rdw: (Arc<dyn RecordStore<Voertuig>>, Feed),
    pub duo: (Arc<dyn RecordStore<Inschrijving>>, Feed),
    pub inkomen: (Arc<dyn RecordStore<Inkomenssituatie>>, Feed),
    databases: Vec<Database>,
}

impl Targets {
    /// Open every register's database (without serving it), for `loket seed`.
    async fn open(storage: &StorageUrl) -> anyhow::Result<Self> {
        async fn open(storage: &StorageUrl, schema: &Schema) -> anyhow::Result<Database> {
            Database::open(storage, schema)
                .await
                .with_context(|| format!("cannot open the {} database", schema.component))
        }
        let brp_db = open(storage, &brp::SCHEMA).await?;
        let reis_db = open(storage, &reisdocumenten::SCHEMA).await?;
        let rdw_db = open(storage, &rdw::SCHEMA).await?;
        let duo_db = open(storage, &duo::SCHEMA).await?;
        let inkomen_db = open(storage, &inkomen::SCHEMA).await?;
        Ok(Self {
            brp: (brp::person_store(&brp_db), Feed::new(&brp_db)),
            reisdocumenten: (record_store(&reis_db), Feed::new(&reis_db)),
            rdw: (record_store(&rdw_db), Feed::new(&rdw_db)),
            duo: (record_store(&duo_db), Feed::new(&duo_db)),
            inkomen: (record_store(&inkomen_db), Feed::new(&inkomen_db)),
            databases: vec![brp_db, reis_db, rdw_db, duo_db, inkomen_db],
        })
    }

    /// From the registers a platform started (the demo).
    pub fn from_handles(handles: &[RegisterHandle]) -> anyhow::Result<Self> {
        let (mut brp, mut reis, mut rdw_, mut duo_, mut inkomen_) = (None, None, None, None, None);
        for handle in handles {
            match handle.clone() {
                RegisterHandle::Brp(store, feed) => brp = Some((store, feed)),
                RegisterHandle::Reisdocumenten(pair) => reis = Some(pair),
                RegisterHandle::Rdw(pair) => rdw_ = Some(pair),
                RegisterHandle::Duo(pair) => duo_ = Some(pair),
                RegisterHandle::Inkomen(pair) => inkomen_ = Some(pair),
            }
        }
        Ok(Self {
            brp: brp.context("the BRP is not running")?,
            reisdocumenten: reis.context("Reisdocumenten is not running")?,
            rdw: rdw_.context("the RDW register is not running")?,
            duo: duo_.context("the DUO register is not running")?,
            inkomen: inkomen_.context("the Inkomen register is not running")?,
            databases: Vec::new(),
        })
    }

    async fn close(self) {
        for database in self.databases {
            database.close().await;
        }
    }

    /// Items in each register, by name.
    pub async fn counts(&self) -> anyhow::Result<Vec<(&'static str, u64)>> {
        Ok(vec![
            ("brp", self.brp.0.count().await?),
            ("reisdocumenten", self.reisdocumenten.0.count().await?),
            ("rdw", self.rdw.0.count().await?),
            ("duo", self.duo.0.count().await?),
            ("inkomen", self.inkomen.0.count().await?),
        ])
    }

    async fn insert(&self, records: &Records) -> anyhow::Result<()> {
        // Separate databases: the registers load side by side.
        tokio::try_join!(
            async { self.brp.0.insert(&records.personen).await.context("BRP") },
            async {
                self.reisdocumenten
                    .0
                    .insert(&records.reisdocumenten)
                    .await
                    .context("Reisdocumenten")
            },
            async { self.rdw.0.insert(&records.voertuigen).await.context("RDW") },
            async {
                self.duo
                    .0
                    .insert(&records.inschrijvingen)
                    .await
                    .context("DUO")
            },
            async {
                self.inkomen
                    .0
                    .insert(&records.inkomenssituaties)
                    .await
                    .context("Inkomen")
            },
        )?;
        Ok(())
    }
}

/// How much a seed loaded, per register (personas included).
#[derive(Debug, Default)]
pub struct Loaded {
    pub personen: u64,
    pub reisdocumenten: u64,
    pub voertuigen: u64,
    pub inschrijvingen: u64,
    pub inkomenssituaties: u64,
    pub mutaties: u64,
}

impl Loaded {
    fn add(&mut self, records: &Records) {
        self.personen += records.personen.len() as u64;
        self.reisdocumenten += records.reisdocumenten.len() as u64;
        self.voertuigen += records.voertuigen.len() as u64;
        self.inschrijvingen += records.inschrijvingen.len() as u64;
        self.inkomenssituaties += records.inkomenssituaties.len() as u64;
    }
}

/// Load the personas and `persons` generated residents into every register, and the
/// recent history into every change feed. Generation runs on its own thread and hands
/// over batches through a small channel, so memory does not grow with `persons`; only
/// the recent history (a few percent) is kept until the end, to be written in date order.
pub async fn load(
    targets: &Targets,
    persons: u64,
    seed: u64,
    municipality: &Municipality,
    today: Date,
    mut report: impl FnMut(u64),
) -> anyhow::Result<Loaded> {
    for (name, count) in targets.counts().await? {
        if count > 0 {
            bail!(
                "the {name} register already holds {count} items; seed into an empty data directory or database"
            );
        }
    }
    tokio::try_join!(
        targets.brp.0.begin_bulk_load(),
        targets.reisdocumenten.0.begin_bulk_load(),
        targets.rdw.0.begin_bulk_load(),
        targets.duo.0.begin_bulk_load(),
        targets.inkomen.0.begin_bulk_load(),
    )
    .context("cannot prepare the registers for loading")?;

    let (_, mut personas) = loket_population::personas(today, municipality);
    targets
        .insert(&personas)
        .await
        .context("cannot load the personas")?;
    let mut loaded = Loaded::default();
    loaded.add(&personas);
    // Progress counts the generated residents asked for, not the personas besides.
    let personas_loaded = loaded.personen;
    let mut history = std::mem::take(&mut personas.mutaties);

    let (sender, mut batches) = tokio::sync::mpsc::channel::<Records>(1);
    let generator = Generator::new(seed, persons, municipality.clone(), today);
    let producer = std::thread::spawn(move || {
        let mut batch = Records::default();
        for mut household in generator {
            batch.append(&mut household);
            if batch.personen.len() >= BATCH
                && sender.blocking_send(std::mem::take(&mut batch)).is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = sender.blocking_send(batch);
        }
    });
    while let Some(mut batch) = batches.recv().await {
        targets
            .insert(&batch)
            .await
            .context("cannot load generated residents")?;
        loaded.add(&batch);
        history.extend(std::mem::take(&mut batch.mutaties));
        report(loaded.personen - personas_loaded);
    }
    if producer.join().is_err() {
        bail!("the generator stopped unexpectedly");
    }

    history.sort();
    loaded.mutaties = (history.brp.len()
        + history.reisdocumenten.len()
        + history.rdw.len()
        + history.duo.len()
        + history.inkomen.len()) as u64;
    tokio::try_join!(
        targets.brp.1.append(&history.brp),
        targets.reisdocumenten.1.append(&history.reisdocumenten),
        targets.rdw.1.append(&history.rdw),
        targets.duo.1.append(&history.duo),
        targets.inkomen.1.append(&history.inkomen),
    )
    .context("cannot write the change feeds")?;
    // One after another: each index build sorts every row of its table.
    targets
        .brp
        .0
        .finish_bulk_load()
        .await
        .context("cannot build the BRP's indexes")?;
    targets
        .reisdocumenten
        .0
        .finish_bulk_load()
        .await
        .context("cannot build the Reisdocumenten indexes")?;
    targets
        .rdw
        .0
        .finish_bulk_load()
        .await
        .context("cannot build the RDW indexes")?;
    targets
        .duo
        .0
        .finish_bulk_load()
        .await
        .context("cannot build the DUO indexes")?;
    targets
        .inkomen
        .0
        .finish_bulk_load()
        .await
        .context("cannot build the Inkomen indexes")?;
    Ok(loaded)
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
    fn finish(&self, loaded: &Loaded, started: Instant) {
        if self.terminal {
            eprintln!();
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "Loaded {} persons (personas included) in {seconds:.1} s ({:.0} per second):",
            loaded.personen,
            loaded.personen as f64 / seconds.max(0.001)
        );
        println!(
            "  {} travel documents, {} vehicles, {} enrolments, {} income records; {} recent mutations in the change feeds.",
            loaded.reisdocumenten,
            loaded.voertuigen,
            loaded.inschrijvingen,
            loaded.inkomenssituaties,
            loaded.mutaties
        );
    }
}
