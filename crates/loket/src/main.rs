//! `loket`: one binary for the demo, production, health checks and benchmarks.

// A binary has no public API; `pub` here only means "used by a sibling module".
#![allow(unreachable_pub)]

mod admin;
mod bench;
mod bench_decisions;
mod bench_log;
mod bench_overzicht;
mod bench_zaken;
mod config;
mod demo;
mod exchange;
mod exchange_peer;
mod healthcheck;
mod logging;
mod platform;
mod process;
mod readiness;
mod register;
mod seed;
mod synthetic;
mod werkplek;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// glibc's allocator spends much of a request's time in locks and consolidation when many
// threads allocate small JSON values; mimalloc keeps per-thread heaps. Measured: ~15% less
// server CPU per BRP lookup (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "loket",
    version,
    about = "Loket: the digital front door of a municipality"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole platform in one process on embedded SQLite, no configuration needed.
    Demo {
        /// Where the portal listens. Port 0 picks a free port (see endpoints.json).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the demo keeps its data; created on first start.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// A product catalogue directory instead of the built-in one.
        #[arg(long, env = "LOKET_CATALOGUE")]
        catalogue: Option<PathBuf>,
    },
    /// Run in production, configured by a TOML file and LOKET_* environment variables.
    Serve {
        #[arg(long, env = "LOKET_CONFIG")]
        config: PathBuf,
    },
    /// Exit 0 when the service at URL answers healthy (checks /readyz when URL has no path).
    Healthcheck {
        #[arg(long)]
        url: String,
        /// Seconds to wait for an answer.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Run one register on its own, with its own store.
    Register {
        #[arg(value_enum)]
        name: platform::RegisterName,
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
        /// Directory for its SQLite database (ignored when --storage is given).
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// A postgres:// URL (or sqlite:DIR) instead of --data.
        #[arg(long, env = "LOKET_REGISTER_STORAGE")]
        storage: Option<String>,
    },
    /// Generate a fictional municipality (personas included) and load it into the registers.
    Seed {
        /// Directory of the SQLite databases (ignored when --storage is given).
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// How many residents to generate, besides the personas (at most 25,000,000).
        #[arg(long, default_value_t = 20_000,
              value_parser = clap::value_parser!(u64).range(..=loket_population::MAX_PERSONS))]
        persons: u64,
        /// The same seed gives the same people.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Four-digit municipality code (CBS); 9999 is the fictional Voorbeeldstad.
        #[arg(long, default_value = "9999")]
        municipality: String,
        /// A postgres:// URL instead of --data.
        #[arg(long, env = "LOKET_SEED_STORAGE")]
        storage: Option<String>,
    },
    /// List the named personas of the synthetic population (name, BSN, what they are for).
    Personas {
        #[arg(long)]
        json: bool,
    },
    /// Print a register's OpenAPI document (the same one it serves at /openapi.json).
    Openapi {
        #[arg(value_enum)]
        name: platform::RegisterName,
    },
    /// The demo's certificates: a CA and one certificate per organisation.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// The processing logs.
    #[command(subcommand)]
    Log(LogCommand),
    /// The resident portal.
    #[command(subcommand)]
    Portal(PortalCommand),
    /// The exchange: directory and contracts.
    #[command(subcommand)]
    Exchange(admin::ExchangeCommand),
    /// The product catalogue.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Apply for a product on a resident's behalf (as at the counter) and print the decision.
    Apply(process::ApplyArgs),
    /// The employee workspace's accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Measure: start-up time of the demo, or requests per second against a URL.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
enum CatalogueCommand {
    /// Load and check every product file; exits non-zero naming the file, line and problem.
    Check {
        /// The catalogue directory (default: the built-in catalogue).
        #[arg(long)]
        catalogue: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Add an employee's account. The password is read from LOKET_WACHTWOORD or stdin.
    Add(werkplek::AddAccountArgs),
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Create a demo CA and a certificate per organisation (`loket demo` does this itself).
    Init {
        #[arg(long, default_value = "./data/pki")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PortalCommand {
    /// Print the public key (base64) of the configured portal's resident assertions, for
    /// the organisations whose logs it reads (their `portal_key`).
    PublicKey {
        #[arg(long, env = "LOKET_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Print the public key (base64) the configured organisation's log signs its tree
    /// heads with, for other organisations' portals (`[[portal.logboeken]]`).
    PublicKey {
        #[arg(long, env = "LOKET_CONFIG")]
        config: PathBuf,
    },
    /// Check every record against the signed tree heads; exits non-zero naming the first
    /// record that was modified, removed, inserted or reordered.
    Verify {
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// A postgres:// URL instead of the SQLite files in --data.
        #[arg(long, env = "LOKET_LOG_STORAGE")]
        storage: Option<String>,
        /// Where the logs' keys are (default: DATA/keys).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Only these organisations' logs (gemeente, rvig, rdw, duo, inkomen).
        #[arg(long = "log")]
        logs: Vec<String>,
        /// Production: the log of the organisation this configuration file describes
        /// (its storage and keys; instead of the other options).
        #[arg(long, conflicts_with_all = ["storage", "keys", "logs"])]
        config: Option<PathBuf>,
        /// With --config: the log's public key (base64, as `loket log public-key`
        /// prints it), so that its private keys need not be here; the newest head it
        /// signed is read from beside the keys when there.
        #[arg(long, requires = "config")]
        public_key: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loket: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Demo {
                listen,
                data,
                catalogue,
            } => demo::run(listen, data, catalogue).await,
            Command::Serve { config } => {
                let config = config::load(&config)?;
                let _log_writer = logging::init(config.log_format);
                if let loket_store::StorageUrl::SqliteDir(dir) = &config.platform.storage
                    && synthetic::is_marked(dir)
                {
                    tracing::warn!(
                        dir = %dir.display(),
                        "this data directory is marked as synthetic ({}): `loket demo` may run its simulated DigiD over it; keep real residents' data elsewhere",
                        synthetic::MARK
                    );
                }
                platform::Platform::start(config.platform)
                    .await?
                    .run_until_signal()
                    .await
            }
            Command::Register {
                name,
                listen,
                data,
                storage,
            } => register::run(name, listen, data, storage).await,
            Command::Seed {
                data,
                persons,
                seed,
                municipality,
                storage,
            } => seed::run(data, persons, seed, municipality, storage).await,
            Command::Personas { json } => register::print_personas(json),
            Command::Openapi { name } => register::print_openapi(name),
            Command::Healthcheck { url, timeout } => healthcheck::run(&url, timeout).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Pki(PkiCommand::Init { dir }) => admin::pki_init(&dir),
            Command::Log(LogCommand::PublicKey { config }) => admin::log_public_key(&config),
            Command::Portal(PortalCommand::PublicKey { config }) => {
                admin::portal_public_key(&config)
            }
            Command::Log(LogCommand::Verify {
                config: Some(config),
                public_key,
                ..
            }) => admin::log_verify_configured(&config, public_key.as_deref()).await,
            Command::Log(LogCommand::Verify {
                data,
                storage,
                keys,
                logs,
                config: None,
                ..
            }) => admin::log_verify(data, storage, keys, logs).await,
            Command::Exchange(command) => admin::exchange(command).await,
            Command::Catalogue(CatalogueCommand::Check { catalogue }) => {
                process::check(catalogue.as_deref())
            }
            Command::Apply(args) => process::apply(args).await,
            Command::Staff(StaffCommand::Add(args)) => werkplek::add_account(args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loket: {error:#}");
            ExitCode::FAILURE
        }
    }
}
