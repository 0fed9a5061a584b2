//! This organisation's part of the exchange in production (`[exchange]` in the
//! configuration): its processing log with the read API, its outway, its inway in front
//! of its registers, and its management API, with certificates from configuration.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use loket_core::{Clock, Secret, SystemClock};
use loket_exchange::management::Operator;
use loket_exchange::pki::{self, Identity};
use loket_exchange::tls::{self, Trust};
use loket_exchange::{ExchangeMetrics, Inway, Manager, Outway};
use loket_logboek::api::Reader;
use loket_logboek::{Activities, LogKeys, Logboek, log_store};
use loket_store::StorageUrl;
use loket_web::portaal::LogSource;

use crate::platform::{self, Platform};

/// The component (database) name of a configured organisation's processing log.
pub const LOG: &str = "logboek";

/// How often the exchange looks for contracts changed elsewhere (the CLI, other peers).
const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// What `[exchange]` configures.
#[derive(Debug, Clone)]
pub struct ExchangeSettings {
    /// This organisation as residents know it ("Gemeente Voorbeeldstad").
    pub display_name: String,
    /// Its certificate chain (PEM, leaf first) with its OIN, and the chain's key.
    pub certificate: String,
    pub private_key: Secret<String>,
    /// The CA certificates (PEM) that peers' certificates must chain to.
    pub trust_anchors: String,
    /// The file with the CAs' certificate revocation lists (PEM), if revocation is
    /// checked; read again whenever it changes.
    pub revocation_lists_file: Option<PathBuf>,
    /// Whether every CA of a chain is looked up in the lists, not only the organisation's
    /// own certificate.
    pub whole_chain_revocation: bool,
    /// Whether a list past its `nextUpdate` counts no more (its CA's certificates are
    /// then refused) rather than with a warning.
    pub refuse_overdue_revocation_lists: bool,
    /// The certificate and key from before a renewal with a new key, if kept.
    pub previous: Option<PreviousIdentity>,
    /// Where the directory and the contracts are kept (shared by the peers using it).
    pub directory: StorageUrl,
    /// The OIN of the organisation that keeps the directory (accepts publications).
    pub directory_peer: String,
    /// The FSC group the directory's contracts belong to, the same for every peer.
    pub group_id: String,
    /// The register of processing activities (TOML text); `None`: the built-in one.
    pub activities: Option<String>,
    pub log: LogSettings,
    pub outway: Option<SocketAddr>,
    pub inway: Option<InwaySettings>,
    pub management: Option<ManagementSettings>,
}

/// An organisation's certificate chain and key from before a renewal with a new key: its
/// outway presents it for the connections that still name that key, until it ends.
#[derive(Debug, Clone)]
pub struct PreviousIdentity {
    pub certificate: String,
    pub private_key: Secret<String>,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    /// The read API (inzage), if it is served.
    pub listen: Option<SocketAddr>,
    /// Where the log's signing and pseudonym keys are (made on first start).
    pub keys: PathBuf,
    pub readers: Vec<Reader>,
    /// The token the portal reads residents' records with, when it runs here too.
    pub portal_token: Option<Secret<String>>,
}

#[derive(Debug, Clone)]
pub struct InwaySettings {
    pub listen: SocketAddr,
    /// Per published service, the register behind it (`http://host:port`) and the
    /// activity of this organisation's register under which it provides the data.
    pub services: BTreeMap<String, loket_exchange::InwayService>,
}

#[derive(Debug, Clone)]
pub struct ManagementSettings {
    pub listen: SocketAddr,
    pub token: Secret<String>,
}

impl ExchangeSettings {
    /// This organisation's identity; checked when the configuration is loaded.
    pub fn identity(&self) -> anyhow::Result<Identity> {
        Ok(Identity::from_pem(
            &self.certificate,
            "exchange.certificate",
            self.private_key.expose(),
            "exchange.private_key",
        )?)
    }

    /// The identity from before a renewal, if configured; checked when the configuration
    /// is loaded.
    pub fn previous_identity(&self) -> anyhow::Result<Option<Identity>> {
        let Some(previous) = &self.previous else {
            return Ok(None);
        };
        Ok(Some(Identity::from_pem(
            &previous.certificate,
            "exchange.previous_certificate",
            previous.private_key.expose(),
            "exchange.previous_private_key",
        )?))
    }

    /// What peers' certificates are checked against; checked when the configuration is
    /// loaded.
    pub fn trust(&self) -> anyhow::Result<Trust> {
        let anchors = pki::certificates(&self.trust_anchors, "exchange.trust_anchors")?;
        let trust = Trust::new(anchors)?;
        let trust = if self.whole_chain_revocation {
            trust.checking_whole_chains()?
        } else {
            trust
        };
        let trust = if self.refuse_overdue_revocation_lists {
            trust.refusing_overdue_lists()?
        } else {
            trust
        };
        let Some(path) = &self.revocation_lists_file else {
            return Ok(trust);
        };
        Ok(trust.with_revocation_lists(read_revocation_lists(path)?)?)
    }

    pub fn activities(&self) -> anyhow::Result<Activities> {
        match &self.activities {
            Some(text) => Ok(Activities::parse(text, "exchange.activities")?),
            None => crate::exchange::activities(),
        }
    }
}

/// What the portal gets from the exchange that runs beside it.
#[derive(Debug, Default)]
pub struct ForThePortal {
    pub outway: Option<String>,
    pub log: Option<LogSource>,
}

/// Start this organisation's log, outway, inway and management API as configured.
pub async fn start(
    platform: &mut Platform,
    storage: &StorageUrl,
    settings: &ExchangeSettings,
) -> anyhow::Result<ForThePortal> {
    let identity = settings.identity()?;
    let trust = settings.trust()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    warn_about_revocation(&trust, clock.now());
    own_chain_usable(&identity, &trust)?;
    let metrics = platform.exchange_metrics().clone();
    metrics.revocation_lists_in_force(&trust);
    if let Some(path) = &settings.revocation_lists_file {
        watch_revocation_lists(path.clone(), trust.clone(), metrics);
    }
    let directory = platform::open(&settings.directory, &loket_exchange::SCHEMA).await?;
    let own = platform::open(storage, &loket_exchange::REVOCATIONS_SCHEMA).await?;
    let manager = Manager::open_in_group(
        &settings.group_id,
        &directory,
        &settings.directory_peer,
        &trust,
        &own,
    )
    .await
    .context("cannot open the exchange's directory")?;
    let signed_again = manager
        .enter(&settings.display_name, &identity, &settings.certificate)
        .await
        .context("cannot enter this organisation in the directory")?;
    if !signed_again.is_empty() {
        tracing::info!(contracts = ?signed_again, "signed again with the organisation's current key: its signatures there were made with an earlier key, or missing");
    }
    let previous = settings.previous_identity()?.filter(|previous| {
        match tls::check_identity(previous, &trust) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(
                    %error, until = %ended(previous),
                    "exchange.previous_certificate has ended, was revoked, or its CA has no revocation list here: the outway does not present it; take it out of the configuration"
                );
                false
            }
        }
    });
    for grant in manager.grants_for_other_keys(&identity) {
        match &previous {
            Some(previous) if previous.thumbprint == grant.thumbprint => tracing::warn!(
                contract = %grant.contract_hash, service = %grant.service, provider = %grant.provider,
                until = %ended(previous),
                "this connection names the outway's previous key: the outway presents the previous certificate for it until that ends; before then, ask for it again (loket exchange request-again HASH) and have the provider approve"
            ),
            _ => tracing::warn!(
                contract = %grant.contract_hash, service = %grant.service, provider = %grant.provider,
                "this connection names the outway's earlier key, so the outway cannot use it: ask for it again (loket exchange request-again HASH) and have the provider approve"
            ),
        }
    }
    let activities = Arc::new(settings.activities()?);
    let (log, public_key) = start_log(
        platform,
        storage,
        LOG,
        &settings.log.keys,
        activities.clone(),
        clock.clone(),
    )
    .await?;
    let mut for_portal = ForThePortal::default();
    if let Some(listen) = settings.log.listen {
        let api = loket_logboek::api::service(log.clone(), settings.log.readers.clone());
        platform.spawn("logboek", listen, api).await?;
        for_portal.log = settings.log.portal_token.clone().map(|token| LogSource {
            organisatie: settings.display_name.clone(),
            url: platform.endpoints["logboek"].clone(),
            token,
            public_key,
        });
    }
    if let Some(inway) = &settings.inway {
        let service = Inway::new(
            identity.oin.as_str(),
            manager.clone(),
            log.clone(),
            inway
                .services
                .clone()
                .into_iter()
                .collect::<HashMap<_, _>>(),
            clock.clone(),
        )?;
        service.report_to(platform.exchange_metrics());
        let listener = platform::bind("inway", inway.listen).await?;
        let config = tls::server_config(&identity, &trust)?;
        platform.spawn_tls_on("inway", listener, service.service(), config)?;
    }
    if let Some(listen) = settings.outway {
        let outway = Outway::new(
            &identity,
            previous.as_ref(),
            &trust,
            manager.clone(),
            log,
            clock,
        )?;
        outway.report_to(platform.exchange_metrics());
        platform.spawn("outway", listen, outway.service()).await?;
        for_portal.outway = Some(platform.endpoints["outway"].clone());
    }
    if let Some(management) = &settings.management {
        let operator = Operator::new(&management.token, settings.identity()?);
        let api = loket_exchange::management::service(manager.clone(), vec![operator], activities);
        platform
            .spawn("exchange-manager", management.listen, api)
            .await?;
    }
    manager.reload_every(RELOAD_EVERY);
    Ok(for_portal)
}

/// How often the revocation lists' file is looked at for a change.
const REVOCATION_LISTS_EVERY: Duration = Duration::from_secs(5);
/// How often the lists in force are looked at for being overdue (in looks at the file).
const OVERDUE_EVERY: u32 = 720;

/// The lists in the file at `path`: PEM (any number), or one list in DER as CAs publish
/// them.
fn read_revocation_lists(
    path: &Path,
) -> anyhow::Result<Vec<rustls::pki_types::CertificateRevocationListDer<'static>>> {
    let origin = format!("exchange.revocation_lists_file ({})", path.display());
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {origin}"))?;
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => Ok(pki::revocation_lists(text, &origin)?),
        // Whether it is a list at all, the trust checks when it takes it.
        _ => Ok(vec![bytes.into()]),
    }
}

/// Put the CAs' new lists in force whenever their file changes (a job that fetches them,
/// say), for the inway, the outway and the manager alike. A file that cannot be read
/// leaves the lists in force as they are.
fn watch_revocation_lists(path: PathBuf, trust: Trust, metrics: ExchangeMetrics) {
    // A file put in place with `mv` is another inode, whatever its time and length.
    let stamp = |path: &Path| {
        std::fs::metadata(path).ok().map(|meta| {
            #[cfg(unix)]
            let inode = std::os::unix::fs::MetadataExt::ino(&meta);
            #[cfg(not(unix))]
            let inode = 0;
            (inode, meta.modified().ok(), meta.len())
        })
    };
    tokio::spawn(async move {
        // Nothing seen yet: the first look reads the file again, in case it changed
        // after the start read it (the same lists again change nothing).
        let mut seen = None;
        let mut ticks = tokio::time::interval(REVOCATION_LISTS_EVERY);
        let mut looks = 0u32;
        loop {
            ticks.tick().await;
            looks = looks.wrapping_add(1);
            let now = time::OffsetDateTime::now_utc();
            // Building the checks again is blocking work (a CA's list can be large).
            let refreshing = trust.clone();
            let refreshed =
                tokio::task::spawn_blocking(move || refreshing.refresh(now.unix_timestamp()))
                    .await
                    .unwrap_or(Ok(false));
            match refreshed {
                Ok(false) => {}
                Ok(true) => {
                    metrics.revocation_lists_in_force(&trust);
                    warn_about_revocation(&trust, now);
                }
                Err(error) => {
                    tracing::error!(%error, "the revocation lists could not be checked again");
                }
            }
            if looks.is_multiple_of(OVERDUE_EVERY) {
                // A list nobody replaced gets older while the exchange runs.
                warn_about_revocation(&trust, now);
            }
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            // Reading, parsing and building the checks is blocking work.
            let replacing = (path.clone(), trust.clone());
            let replaced = tokio::task::spawn_blocking(move || {
                let (path, trust) = replacing;
                read_revocation_lists(&path)
                    .and_then(|lists| Ok(trust.replace_revocation_lists(lists)?))
            })
            .await
            .unwrap_or_else(|error| Err(anyhow::anyhow!("reading the lists failed: {error}")));
            match replaced {
                Ok(false) => {}
                Ok(true) => {
                    metrics.revocation_lists_in_force(&trust);
                    tracing::info!(
                        file = %path.display(),
                        lists = trust.revocation_lists().len(),
                        "revocation lists replaced: they count from now on"
                    );
                    warn_about_revocation(&trust, time::OffsetDateTime::now_utc());
                }
                Err(error) => {
                    metrics.revocation_list_failed();
                    tracing::error!(
                        error = %format!("{error:#}"),
                        "the revocation lists in force stay: the new file cannot be used"
                    );
                }
            }
        }
    });
}

/// Revocation is only as good as the lists: say when there are none, or when one is
/// older than its CA promised (it still counts).
fn warn_about_revocation(trust: &Trust, now: time::OffsetDateTime) {
    if !trust.checks_revocation() {
        tracing::warn!(
            "exchange.revocation_lists_file is not set: a certificate its CA revoked is still accepted"
        );
    }
    for (issuer, due) in
        pki::overdue_revocation_lists(&trust.revocation_lists(), now.unix_timestamp())
    {
        let due = time::OffsetDateTime::from_unix_timestamp(due)
            .ok()
            .and_then(|due| {
                due.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        if trust.refuses_overdue_lists() {
            tracing::error!(
                %issuer, %due,
                "exchange.revocation_lists_file: this CA's list was due to be replaced and counts no more (overdue_revocation_lists = \"refuse\"): its certificates are refused until its current list is in place"
            );
        } else {
            tracing::warn!(
                %issuer, %due,
                "exchange.revocation_lists_file: this CA's list was due to be replaced; put its current one in place"
            );
        }
    }
}

/// Whether `error`, from checking the certificate from before a renewal, says it has
/// ended or was revoked (as a CA may do with the certificate a renewal replaced), rather
/// than that it is not of this exchange. The start leaves such a certificate out.
pub fn out_of_use(error: &tls::TlsError) -> bool {
    use rustls::CertificateError;
    matches!(
        error,
        tls::TlsError::Rustls(rustls::Error::InvalidCertificate(
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::Revoked
                | CertificateError::UnknownRevocationStatus
        ))
    ) || overdue_list(error)
}

/// The exchange cannot start with its own certificate refused for an overdue list (with
/// `overdue_revocation_lists = "refuse"`): no peer would be reached, and the manager
/// could not enter the directory. Said plainly, rather than as a directory error.
pub fn own_chain_usable(identity: &Identity, trust: &tls::Trust) -> anyhow::Result<()> {
    match tls::check_identity(identity, trust) {
        Err(error) if overdue_list(&error) => anyhow::bail!(
            "exchange.revocation_lists_file: a CA list in this organisation's chain is past its nextUpdate, and overdue_revocation_lists = \"refuse\" counts it no more: put the CA's current list in place ({error})"
        ),
        // Anything else the configuration's load refused already.
        _ => Ok(()),
    }
}

/// Whether `error` says only that a CA's revocation list is past its `nextUpdate` (with
/// `overdue_revocation_lists = "refuse"`): the lists' job is late. Loading the
/// configuration lets it pass; the exchange's start stops on it
/// ([`own_chain_usable`]).
pub fn overdue_list(error: &tls::TlsError) -> bool {
    use rustls::CertificateError;
    matches!(
        error,
        tls::TlsError::Rustls(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredRevocationList
                | CertificateError::ExpiredRevocationListContext { .. }
        ))
    )
}

/// The last moment `identity` is accepted (its chain's earliest `notAfter`), for people
/// to read.
fn ended(identity: &Identity) -> String {
    identity
        .valid_until()
        .and_then(|until| time::OffsetDateTime::from_unix_timestamp(until.saturating_sub(1)).ok())
        .and_then(|moment| {
            moment
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "(unreadable)".to_owned())
}

/// Open (or create) a processing log and hand it to the platform; returns the log and
/// the public key its tree heads are signed with.
pub async fn start_log(
    platform: &mut Platform,
    storage: &StorageUrl,
    component: &'static str,
    keys: &Path,
    activities: Arc<Activities>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Logboek, Vec<u8>)> {
    let database = platform::open(storage, &loket_logboek::schema(component)).await?;
    // The exchange refuses every request when its log cannot be reached: /readyz says
    // whether its database answers (not whether its next commit will succeed).
    platform.ready_when(&database, loket_logboek::schema(component));
    let keys = LogKeys::load_or_create(keys, component)
        .with_context(|| format!("the keys of the processing log {component}"))?;
    let public_key = keys.verifying_key().0;
    let log = Logboek::start(
        component,
        log_store(&database),
        keys,
        activities,
        clock,
        loket_logboek::HEAD_INTERVAL,
    )
    .await?;
    platform.keep_log(log.clone());
    Ok((log, public_key))
}
