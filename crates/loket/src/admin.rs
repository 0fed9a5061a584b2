//! Administration commands: `loket pki init`, `loket log verify`, `loket exchange …`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use loket_exchange::Manager;
use loket_exchange::contract::ContractHash;
use loket_exchange::pki::{self, Identity};
use loket_logboek::{LogKeys, log_store, verify};
use loket_store::StorageUrl;

use crate::exchange::{ORGANISATIONS, keys_dir, organisations, pki_dir};
use crate::platform;

fn storage(data: &Path, storage: Option<String>) -> anyhow::Result<StorageUrl> {
    match storage {
        Some(url) => url.parse().context("--storage"),
        None => Ok(StorageUrl::SqliteDir(data.to_path_buf())),
    }
}

#[allow(clippy::print_stdout)]
pub fn pki_init(dir: &Path) -> anyhow::Result<()> {
    if pki::init(dir, &organisations()?)? {
        println!("Created a demo CA and certificates in {}:", dir.display());
        for organisation in &ORGANISATIONS {
            println!(
                "  {:<9} OIN {}  {}",
                organisation.name, organisation.oin, organisation.display_name
            );
        }
        println!(
            "Not for production: there, certificates come from PKIoverheid via configuration."
        );
    } else {
        println!("{} already holds a PKI; nothing changed.", dir.display());
    }
    Ok(())
}

/// Verify every organisation's log (or the ones named); fails on the first tampered one.
#[allow(clippy::print_stdout)]
pub async fn log_verify(
    data: PathBuf,
    storage_url: Option<String>,
    keys: Option<PathBuf>,
    only: Vec<String>,
) -> anyhow::Result<()> {
    let unknown: Vec<&str> = only
        .iter()
        .map(String::as_str)
        .filter(|name| !ORGANISATIONS.iter().any(|o| o.name == *name))
        .collect();
    anyhow::ensure!(
        unknown.is_empty(),
        "no organisation called {} (the demo's: {})",
        unknown.join(", "),
        ORGANISATIONS.map(|o| o.name).join(", ")
    );
    let storage = storage(&data, storage_url)?;
    let keys = keys.unwrap_or_else(|| keys_dir(&data));
    let mut checked = 0;
    for organisation in &ORGANISATIONS {
        if !only.is_empty() && !only.iter().any(|o| o == organisation.name) {
            continue;
        }
        if let StorageUrl::SqliteDir(dir) = &storage
            && !dir.join(format!("{}.db", organisation.log)).exists()
        {
            // A log that never ran has no database. One that did has keys and a head
            // file too: then its database was removed, which verify must not pass over.
            let ran = ["signing.pk8", "latest-head.json"]
                .iter()
                .any(|file| keys.join(format!("{}.{file}", organisation.log)).exists());
            anyhow::ensure!(
                !ran,
                "the processing log {} ({}) has keys in {} but no database in {}: it was removed",
                organisation.log,
                organisation.display_name,
                keys.display(),
                dir.display()
            );
            continue;
        }
        verify_log(
            &storage,
            &keys,
            organisation.log,
            organisation.display_name,
            None,
        )
        .await?;
        checked += 1;
    }
    anyhow::ensure!(checked > 0, "no processing log found in {storage:?}");
    Ok(())
}

/// Verify the log of the organisation a production configuration describes (reading
/// only its storage and the log's keys: see `config::load_log`), with its public key
/// when given (base64) instead of its private keys.
pub async fn log_verify_configured(config: &Path, public_key: Option<&str>) -> anyhow::Result<()> {
    let settings = crate::config::load_log(config)?;
    verify_log(
        &settings.storage,
        &settings.keys,
        crate::exchange_peer::LOG,
        &settings.name,
        public_key,
    )
    .await
}

/// Print the configured log's public key, base64.
#[allow(clippy::print_stdout)]
pub fn log_public_key(config: &Path) -> anyhow::Result<()> {
    use base64::Engine;
    let exchange = crate::config::load(config)?
        .platform
        .exchange
        .context("the configuration has no [exchange], so no processing log")?;
    let keys = LogKeys::load(&exchange.log.keys, crate::exchange_peer::LOG).with_context(|| {
        format!(
            "no keys in {} yet: they are made when loket serve first starts",
            exchange.log.keys.display()
        )
    })?;
    println!(
        "{}",
        base64::engine::general_purpose::STANDARD.encode(keys.verifying_key().0)
    );
    Ok(())
}

/// The public key of the configured portal's resident assertions (`portal.inzage_key`).
#[allow(clippy::print_stdout)]
pub fn portal_public_key(config: &Path) -> anyhow::Result<()> {
    let assertions = crate::config::load(config)?
        .platform
        .portal
        .assertions
        .context("the configuration has no [portal] with an inzage_key")?;
    println!("{}", assertions.public_key_base64());
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn verify_log(
    storage: &StorageUrl,
    keys: &Path,
    component: &'static str,
    organisation: &str,
    public_key: Option<&str>,
) -> anyhow::Result<()> {
    use base64::Engine;
    let key = match public_key {
        Some(text) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
                .filter(|bytes| bytes.len() == 32)
                .context("--public-key: not an Ed25519 public key in base64 (as `loket log public-key` prints it)")?;
            loket_logboek::VerifyingKey(bytes)
        }
        None => LogKeys::load(keys, component)
            .with_context(|| format!("the keys of {component}"))?
            .verifying_key(),
    };
    // The newest head the log signed, kept beside its keys, when it is there.
    let known = loket_logboek::HeadFile::beside_keys(keys, component).read(&key)?;
    let database = platform::open(storage, &loket_logboek::schema(component)).await?;
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = verify(log_store(&database).as_ref(), &key, now, known.as_ref())
        .await
        .with_context(|| format!("the processing log of {organisation} cannot be trusted"))?;
    println!(
        "{component:<16} ok: {} records ({} pruned), {} signed tree heads, checked in {:.2} s",
        report.records,
        report.pruned,
        report.tree_heads,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where the exchange's directory and contracts are.
#[derive(Debug, clap::Args)]
pub struct ExchangeStore {
    #[arg(long, default_value = "./data")]
    data: PathBuf,
    #[arg(long, env = "LOKET_EXCHANGE_STORAGE")]
    storage: Option<String>,
    /// Production: the directory, and the organisation that signs, of this configuration
    /// file's `[exchange]` (instead of --data, --storage and --as).
    #[arg(long, conflicts_with = "storage")]
    config: Option<PathBuf>,
}

/// Which organisation signs (its short name, e.g. rvig), and where the exchange is.
#[derive(Debug, clap::Args)]
pub struct Party {
    #[arg(
        long = "as",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    name: Option<String>,
    #[command(flatten)]
    store: ExchangeStore,
}

#[derive(Debug, clap::Subcommand)]
pub enum ExchangeCommand {
    /// List the directory and every contract with its state.
    List {
        #[command(flatten)]
        store: ExchangeStore,
        #[arg(long)]
        json: bool,
    },
    /// Publish a service in the directory, as the organisation that provides it; in
    /// force once the directory's organisation approves.
    Publish {
        /// The service's name (lower-case letters, digits and hyphens).
        #[arg(long)]
        service: String,
        /// Where outways reach it: the provider's inway (https://host:port).
        #[arg(long)]
        inway: String,
        /// The service's OpenAPI document, relative to the inway.
        #[arg(long, default_value = "/openapi.json")]
        openapi: String,
        /// The path, in each answered item, of the data subject's BSN.
        #[arg(long)]
        subject_field: Option<String>,
        /// How many days the contract holds (1 to 65535).
        #[arg(long, default_value = "365")]
        days: std::num::NonZeroU16,
        #[command(flatten)]
        party: Party,
    },
    /// Ask for a connection to a service, as an organisation.
    Request {
        #[arg(long)]
        service: String,
        /// A processing activity id (repeatable); see config/verwerkingsactiviteiten.toml.
        #[arg(long = "activity", required = true)]
        activities: Vec<String>,
        /// Only these fields (repeatable); without it, every field.
        #[arg(long = "field")]
        fields: Vec<String>,
        /// How many days the contract holds (1 to 65535).
        #[arg(long, default_value = "365")]
        days: std::num::NonZeroU16,
        #[command(flatten)]
        party: Party,
    },
    /// Ask again, for the organisation's current key, for a connection whose contract
    /// names an earlier key of its outway (after a certificate renewal with a new key):
    /// the same service, activities and fields, until the same end.
    RequestAgain {
        /// The contract's hash, as `loket exchange list` shows it; quote it: '$1$1$…'.
        /// (What a shell leaves of an unquoted one may start with `-`: it is still
        /// taken as the hash, and refused with how to quote it.)
        #[arg(allow_hyphen_values = true)]
        hash: ContractHash,
        #[command(flatten)]
        party: Party,
    },
    /// Accept (approve) a contract as one of its parties.
    Approve {
        /// The contract's hash, as `loket exchange list` shows it; quote it: '$1$1$…'.
        /// (What a shell leaves of an unquoted one may start with `-`: it is still
        /// taken as the hash, and refused with how to quote it.)
        #[arg(allow_hyphen_values = true)]
        hash: ContractHash,
        #[command(flatten)]
        party: Party,
    },
    /// Revoke a contract as one of its parties.
    Revoke {
        /// The contract's hash, as `loket exchange list` shows it; quote it: '$1$1$…'.
        /// (What a shell leaves of an unquoted one may start with `-`: it is still
        /// taken as the hash, and refused with how to quote it.)
        #[arg(allow_hyphen_values = true)]
        hash: ContractHash,
        #[command(flatten)]
        party: Party,
    },
}

#[allow(clippy::print_stdout)]
pub async fn exchange(command: ExchangeCommand) -> anyhow::Result<()> {
    match command {
        ExchangeCommand::List { store, json } => {
            let policy = store.manager().await?.policy();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "peers": policy.peers.values().collect::<Vec<_>>().iter().map(|p| serde_json::json!({"oin": p.oin, "name": p.name})).collect::<Vec<_>>(),
                        "services": policy.services.values().collect::<Vec<_>>(),
                        "contracts": policy.contracts,
                    }))?
                );
                return Ok(());
            }
            println!("Services:");
            let mut services: Vec<_> = policy.services.values().collect();
            services.sort_by(|a, b| a.name.cmp(&b.name));
            for service in services {
                println!(
                    "  {:<20} by {}  at {}",
                    service.name, service.peer_id, service.inway
                );
            }
            println!("Contracts:");
            for contract in &policy.contracts {
                println!("  {:?} {}", contract.state, contract.hash);
                for grant in &contract.content.grants {
                    println!("    {}", serde_json::to_string(&grant.data)?);
                }
            }
            Ok(())
        }
        ExchangeCommand::Publish {
            service,
            inway,
            openapi,
            subject_field,
            days,
            party,
        } => {
            let (manager, identity) = party.open().await?;
            let entry = loket_exchange::ServiceEntry {
                name: service,
                peer_id: identity.oin.as_str().to_owned(),
                inway,
                openapi,
                subject_field,
            };
            let hash = manager.publish(&identity, entry, validity(days)).await?;
            println!("{hash}");
            let keeper = manager.directory_keeper();
            // In the demo the keeper is one of its organisations: name it, so the hint runs.
            let as_keeper = ORGANISATIONS
                .iter()
                .find(|o| o.oin == keeper)
                .map_or("KEEPER", |o| o.name);
            println!(
                "Published as {}; in force once the directory's keeper ({keeper}) approves: loket exchange approve '{hash}' --as {as_keeper}",
                party.label(&identity),
            );
            Ok(())
        }
        ExchangeCommand::Request {
            service,
            activities,
            fields,
            days,
            party,
        } => {
            let (manager, identity) = party.open().await?;
            let register = party.register()?;
            let party = party.label(&identity);
            let fields = (!fields.is_empty()).then_some(fields);
            let hash = manager
                .request_connection(
                    &identity,
                    &service,
                    activities,
                    fields,
                    validity(days),
                    &register,
                )
                .await?;
            println!("{hash}");
            println!(
                "Requested as {party}; in force once the provider approves: loket exchange approve '{hash}' --as PROVIDER"
            );
            Ok(())
        }
        ExchangeCommand::RequestAgain { hash, party } => {
            let (manager, identity) = party.open().await?;
            let register = party.register()?;
            let party = party.label(&identity);
            let hash = manager
                .request_again(&identity, hash.as_str(), &register)
                .await?;
            println!("{hash}");
            println!(
                "Requested again as {party}; in force once the provider approves: loket exchange approve '{hash}' --as PROVIDER"
            );
            Ok(())
        }
        ExchangeCommand::Approve { hash, party } => {
            let (manager, identity) = party.open().await?;
            let party = party.label(&identity);
            manager.accept(&identity, hash.as_str()).await?;
            println!("Accepted {hash} as {party}.");
            Ok(())
        }
        ExchangeCommand::Revoke { hash, party } => {
            let (manager, identity) = party.open().await?;
            let party = party.label(&identity);
            manager.revoke(&identity, hash.as_str()).await?;
            println!("Revoked {hash} as {party}; running exchanges stop using it within seconds.");
            Ok(())
        }
    }
}

fn validity(days: std::num::NonZeroU16) -> loket_exchange::contract::Validity {
    loket_exchange::contract::Validity::days_from_now(days)
}

impl ExchangeStore {
    async fn manager(&self) -> anyhow::Result<Manager> {
        let (url, keeper, trust, group) = match self.configured()? {
            Some(exchange) => {
                let trust = exchange.trust()?;
                (
                    exchange.directory,
                    exchange.directory_peer,
                    trust,
                    exchange.group_id,
                )
            }
            None => {
                let ca = pki_dir(&self.data).join(loket_exchange::pki::CA_FILE);
                let anchors = loket_exchange::pki::load_roots(&ca)
                    .with_context(|| format!("no demo CA at {}", ca.display()))?;
                (
                    storage(&self.data, self.storage.clone())?,
                    crate::exchange::GEMEENTE_OIN.to_owned(),
                    loket_exchange::tls::Trust::new(anchors)?,
                    loket_exchange::manager::GROUP_ID.to_owned(),
                )
            }
        };
        let database = platform::open(&url, &loket_exchange::SCHEMA).await?;
        let own = platform::open(&self.own_storage()?, &loket_exchange::REVOCATIONS_SCHEMA).await?;
        Ok(Manager::open_in_group(&group, &database, &keeper, &trust, &own).await?)
    }

    /// The organisation's own storage, where its exchange keeps the contracts it has seen
    /// revoked: the configuration's `[storage]`, or the demo's.
    fn own_storage(&self) -> anyhow::Result<StorageUrl> {
        match &self.config {
            Some(path) => Ok(crate::config::load(path)?.platform.storage),
            None => storage(&self.data, self.storage.clone()),
        }
    }

    /// The `[exchange]` of `--config`, when given.
    fn configured(&self) -> anyhow::Result<Option<crate::exchange_peer::ExchangeSettings>> {
        let Some(path) = &self.config else {
            return Ok(None);
        };
        let exchange = crate::config::load(path)?
            .platform
            .exchange
            .with_context(|| format!("{} has no [exchange]", path.display()))?;
        Ok(Some(exchange))
    }
}

impl Party {
    /// The exchange's manager and this organisation's identity to sign with.
    async fn open(&self) -> anyhow::Result<(Manager, Identity)> {
        let identity = match (&self.name, self.store.configured()?) {
            (_, Some(exchange)) => exchange.identity()?,
            (Some(name), None) => {
                let pki = pki_dir(&self.store.data);
                anyhow::ensure!(
                    ORGANISATIONS.iter().any(|o| o.name == name),
                    "--as {name}: no such organisation (the demo's: {})",
                    ORGANISATIONS.map(|o| o.name).join(", ")
                );
                Identity::load_named(&pki, name)
                    .with_context(|| format!("no certificate for {name} in {}", pki.display()))?
            }
            (None, None) => anyhow::bail!("say who signs: --as NAME or --config FILE"),
        };
        Ok((self.store.manager().await?, identity))
    }

    /// The signer's register of processing activities: the configured organisation's,
    /// or the demo's built-in one.
    fn register(&self) -> anyhow::Result<loket_logboek::Activities> {
        match self.store.configured()? {
            Some(exchange) => exchange.activities(),
            None => crate::exchange::activities(),
        }
    }

    /// Who signs, for messages: the short name, or the OIN of the configured organisation.
    fn label(&self, identity: &Identity) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| identity.oin.as_str().to_owned())
    }
}
